"""Store operations for the knowledge base (issue 6), mixed into the Store facade
(store/service.py); the work is done in store/quality/kb.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ticketdesk.store.quality import kb
from ticketdesk.store.quality.kb import ArticleEdit, ArticleRow, ArticleSpec, ArticleView

if TYPE_CHECKING:
    from ticketdesk.store.db.transactions import Transactions


class KbOps:
    """Methods run in the facade's transactions (`self.tx`), one per operation."""

    #: the facade's transactions (store/db/transactions.py), one per operation
    tx: Transactions

    def add_article(self, spec: ArticleSpec) -> ArticleView:
        return self.tx.write("add_article", lambda s, a: kb.add_article(s, actor=a, spec=spec))

    def article(self, article_id: int) -> ArticleView:
        return self.tx.read("article", lambda s, _: kb.get_article(s, article_id))

    def list_articles(self, *, tag: str | None = None, limit: int = 200) -> list[ArticleRow]:
        """Newest change first."""
        return self.tx.read("list_articles", lambda s, _: kb.list_articles(s, tag=tag, limit=limit))

    def edit_article(self, article_id: int, edit: ArticleEdit, *, expected_version: int | None = None) -> ArticleView:
        """Change fields; with `expected_version`, a change made in between is a Conflict."""
        return self.tx.write(
            "edit_article",
            lambda s, a: kb.edit_article(
                s, actor=a, article_id=article_id, edit=edit, expected_version=expected_version
            ),
        )

    def search_articles(self, query: str, *, tag: str | None = None, limit: int = 20) -> list[ArticleRow]:
        """Articles holding every word (English or Chinese), best first, each with a snippet."""
        return self.tx.read("search_articles", lambda s, _: kb.search_articles(s, query=query, tag=tag, limit=limit))

    def suggest_articles(self, number: str, limit: int = 3) -> list[ArticleRow]:
        """The `limit` articles that best fit a ticket's subject and description."""
        return self.tx.read("suggest_articles", lambda s, _: kb.suggest_articles(s, number=number, limit=limit))

    def article_from_ticket(self, number: str) -> ArticleView:
        """A new article from a resolved or closed ticket (an unresolved one is refused)."""
        return self.tx.write("article_from_ticket", lambda s, a: kb.article_from_ticket(s, actor=a, number=number))


__all__ = ["ArticleEdit", "ArticleRow", "ArticleSpec", "ArticleView", "KbOps"]
