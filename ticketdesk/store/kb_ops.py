"""Store operations for the knowledge base (issue 6), mixed into the Store facade
(store/service.py); the work is done in store/kb.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ticketdesk.store import kb
from ticketdesk.store.kb import ArticleEdit, ArticleRow, ArticleSpec, ArticleView

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlmodel import Session

    from ticketdesk.models import Agent


class KbOps:
    """Methods use the facade's `_read` / `_write` (one transaction each)."""

    if TYPE_CHECKING:

        def _read(self, fn: Callable[[Session, int], Any]) -> Any: ...
        def _write(self, fn: Callable[[Session, Agent], Any]) -> Any: ...

    def add_article(self, spec: ArticleSpec) -> ArticleView:
        return self._write(lambda s, a: kb.add_article(s, actor=a, spec=spec))  # type: ignore[no-any-return]

    def article(self, article_id: int) -> ArticleView:
        return self._read(lambda s, _: kb.get_article(s, article_id))  # type: ignore[no-any-return]

    def list_articles(self, *, tag: str | None = None, limit: int = 200) -> list[ArticleRow]:
        """Newest change first."""
        return self._read(lambda s, _: kb.list_articles(s, tag=tag, limit=limit))  # type: ignore[no-any-return]

    def edit_article(self, article_id: int, edit: ArticleEdit, *, expected_version: int | None = None) -> ArticleView:
        """Change fields; with `expected_version`, a change made in between is a Conflict."""
        return self._write(  # type: ignore[no-any-return]
            lambda s, a: kb.edit_article(
                s, actor=a, article_id=article_id, edit=edit, expected_version=expected_version
            )
        )

    def search_articles(self, query: str, *, tag: str | None = None, limit: int = 20) -> list[ArticleRow]:
        """Articles holding every word (English or Chinese), best first, each with a snippet."""
        return self._read(lambda s, _: kb.search_articles(s, query=query, tag=tag, limit=limit))  # type: ignore[no-any-return]

    def suggest_articles(self, number: str, limit: int = 3) -> list[ArticleRow]:
        """The `limit` articles that best fit a ticket's subject and description."""
        return self._read(lambda s, _: kb.suggest_articles(s, number=number, limit=limit))  # type: ignore[no-any-return]

    def article_from_ticket(self, number: str) -> ArticleView:
        """A new article from a resolved or closed ticket (an unresolved one is refused)."""
        return self._write(lambda s, a: kb.article_from_ticket(s, actor=a, number=number))  # type: ignore[no-any-return]


__all__ = ["ArticleEdit", "ArticleRow", "ArticleSpec", "ArticleView", "KbOps"]
