"""Demo data: a year of realistic helpdesk traffic, written fast with Core bulk inserts.

`generate_demo` fills an already migrated and seeded database (teams and ticket types
exist) with organisations, customers, agents, tickets, tags, comments and history events.
Everything is drawn from one `random.Random(seed)`, so the same seed on the same database
gives the same data (for a fixed `now`).

Speed (100,000 tickets, about a million events, in ~15 s on SQLite): no ORM per row; ids
are assigned here, so nothing needs RETURNING; the big tables get pre-bound row tuples
through the driver's executemany (COPY on PostgreSQL); and on SQLite the FTS5 indexes are
filled with one INSERT ... SELECT per table instead of by the per-row triggers.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Integer, Table, cast, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from ticketdesk.models import Priority
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import numbering
from ticketdesk.rules.sla_policy import due_dates
from ticketdesk.store import sla as sla_clocks
from ticketdesk.store.bulk import BulkWriter, insert_rows, resume_fts_triggers, suspend_fts_triggers


@dataclass(frozen=True)
class DemoSummary:
    """What was added (rows that already existed, like a re-used agent, are not counted)."""

    tickets: int
    customers: int
    organisations: int
    agents: int
    comments: int
    events: int


# --- reference data ------------------------------------------------------------------------

# (name, industry, mail domain, Chinese?)
_ORGS: tuple[tuple[str, str, str, bool], ...] = (
    ("Northbridge Bank", "banking", "northbridgebank.com", False),
    ("Harbour Savings Bank", "banking", "harboursavings.co.uk", False),
    ("Crestline Capital", "banking", "crestline-capital.com", False),
    ("华信银行股份有限公司", "banking", "huaxinbank.cn", True),
    ("广州南方商业银行", "banking", "gznfbank.cn", True),
    ("Meridian Retail Group", "retail", "meridianretail.com", False),
    ("Greenleaf Supermarkets", "retail", "greenleaf-markets.com", False),
    ("Urban Threads Fashion", "retail", "urbanthreads.com", False),
    ("上海百汇商贸有限公司", "retail", "baihui-sh.cn", True),
    ("Atlas Precision Manufacturing", "manufacturing", "atlasprecision.com", False),
    ("Ironwood Components", "manufacturing", "ironwood-components.com", False),
    ("Bluewater Plastics", "manufacturing", "bluewaterplastics.com", False),
    ("Evergreen Foods", "manufacturing", "evergreenfoods.com", False),
    ("苏州精工机械制造有限公司", "manufacturing", "szjinggong.cn", True),
    ("St. Aldric Hospital", "healthcare", "staldric-hospital.org", False),
    ("Riverside Medical Centre", "healthcare", "riversidemedical.org", False),
    ("Harrow General Hospital", "healthcare", "harrowgeneral.org", False),
    ("Kestrel Pharma", "healthcare", "kestrelpharma.com", False),
    ("仁和医疗集团", "healthcare", "renhe-med.cn", True),
    ("Lakeside University", "education", "lakeside.edu", False),
    ("Oakridge Academy", "education", "oakridge-academy.org", False),
    ("Northfield College", "education", "northfield.ac.uk", False),
    ("江南理工学院", "education", "jnit.edu.cn", True),
    ("City of Millbrook Council", "government", "millbrook.gov", False),
    ("Regional Transport Authority", "government", "rta-region.gov", False),
    ("County Records Office", "government", "countyrecords.gov", False),
    ("杭州市政务服务中心", "government", "hzzwfw.gov.cn", True),
    ("Swiftway Logistics", "logistics", "swiftway.com", False),
    ("Portside Freight", "logistics", "portsidefreight.com", False),
    ("Summit Couriers", "logistics", "summitcouriers.com", False),
    ("Westgate Logistics", "logistics", "westgate-logistics.com", False),
    ("华东物流有限公司", "logistics", "hdwl.cn", True),
    ("顺达供应链管理有限公司", "logistics", "shunda-scm.cn", True),
    ("Skyline Telecom", "telecom", "skylinetelecom.com", False),
    ("Nordwave Communications", "telecom", "nordwave.net", False),
    ("Beacon Mobile", "telecom", "beaconmobile.com", False),
    ("中联通信技术有限公司", "telecom", "zltx-tech.cn", True),
    ("深圳云帆科技有限公司", "telecom", "yunfan-tech.cn", True),
    ("Solara Energy", "energy", "solaraenergy.com", False),
    ("Grand Meridian Hotels", "hospitality", "grandmeridianhotels.com", False),
)

_FREEMAIL_EN = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
_FREEMAIL_ZH = ("qq.com", "163.com", "126.com", "sina.com")

_FIRST_EN = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Sophie", "Mark", "Emily", "Paul", "Hannah",
    "Steven", "Olivia", "Andrew", "Chloe", "Oliver", "Amelia", "George", "Isla", "Harry", "Priya",
    "Arjun", "Fatima", "Omar", "Lucas", "Mia", "Noah", "Ava", "Leo", "Zara", "Tom",
)  # fmt: skip
_LAST_EN = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Hughes", "Evans", "Patel", "Khan", "Murphy", "O'Brien", "Kowalski", "Novak", "Rossi", "Jensen",
)  # fmt: skip
_SURNAMES_ZH = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
)  # fmt: skip
_GIVEN_ZH = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("建华", "jianhua"), ("晓东", "xiaodong"),
    ("子涵", "zihan"), ("浩然", "haoran"), ("雨欣", "yuxin"), ("思远", "siyuan"), ("文博", "wenbo"), ("佳怡", "jiayi"),
)  # fmt: skip

_DEPTS_EN: dict[str, tuple[str, ...]] = {
    "banking": ("Retail Banking", "Risk", "Compliance", "Treasury", "Branch Operations"),
    "retail": ("Store Operations", "E-commerce", "Merchandising", "Warehouse"),
    "manufacturing": ("Production", "Quality Control", "Maintenance", "Supply Chain"),
    "healthcare": ("Radiology", "Nursing", "Pharmacy", "Patient Records"),
    "education": ("Admissions", "Library", "Faculty of Science", "Student Services"),
    "government": ("Permits", "Records", "Planning", "Citizen Services"),
    "logistics": ("Dispatch", "Warehouse", "Fleet", "Customs"),
    "telecom": ("Network Operations", "Billing", "Field Service", "Customer Care"),
    "energy": ("Field Operations", "Trading", "Metering"),
    "hospitality": ("Front Office", "Reservations", "Housekeeping"),
}
_DEPTS_COMMON_EN = ("Finance", "HR", "IT", "Sales", "Procurement", "Legal", "Marketing", "Customer Service")
_DEPTS_ZH = (
    "财务部", "人力资源部", "信息中心", "运营部", "销售部", "客服中心", "采购部", "法务部",
    "市场部", "仓储部", "调度中心", "生产部", "质检部", "行政部",
)  # fmt: skip

# (login, display name, team key, role, skills). Chinese speakers carry the `chinese` skill
# and get most of the Chinese-language tickets of their team.
_AGENTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("alice", "Alice Morgan", "servicedesk", "lead", "triage,windows,accounts,printer"),
    ("bob", "Bob Fletcher", "servicedesk", "agent", "printer,hardware,windows"),
    ("chen.wei", "陈伟 Chen Wei", "servicedesk", "agent", "accounts,email,chinese"),
    ("li.na", "李娜 Li Na", "servicedesk", "agent", "billing,phone,chinese"),
    ("david", "David Okafor", "support", "lead", "network,vpn,escalations"),
    ("emma", "Emma Schultz", "support", "agent", "email,office365,mobile"),
    ("wang.fang", "王芳 Wang Fang", "support", "agent", "vpn,network,chinese"),
    ("zhang.lei", "张磊 Zhang Lei", "support", "agent", "hardware,linux,printer,chinese"),
    ("frank", "Frank Dubois", "rnd", "lead", "erp,java,database"),
    ("liu.yang", "刘洋 Liu Yang", "rnd", "agent", "mobile,api,performance,chinese"),
    ("grace", "Grace Kim", "rnd", "agent", "reporting,sql,erp"),
    ("henry", "Henry Walsh", "ops", "lead", "outage,network,security"),
    ("zhao.min", "赵敏 Zhao Min", "ops", "agent", "servers,backup,security,chinese"),
    ("ivan", "Ivan Petrov", "ops", "agent", "kubernetes,monitoring,vpn"),
    ("julia", "Julia Santos", "product", "lead", "billing,feature-requests,complaints"),
    ("sun.li", "孙丽 Sun Li", "product", "agent", "billing,onboarding,chinese"),
)

_STATUSES = ("new", "open", "in_progress", "pending", "on_hold", "resolved", "closed")
# Final status by ticket age: old tickets are almost all finished, today's are mostly open.
_STATUS_BY_AGE: tuple[tuple[float, tuple[float, ...]], ...] = (
    (1.0, (30, 25, 25, 10, 2, 8, 0)),
    (7.0, (6, 14, 24, 16, 6, 24, 10)),
    (30.0, (1, 4, 8, 8, 5, 22, 52)),
    (90.0, (0, 0.5, 1.5, 1.5, 2, 4.5, 90)),
    (float("inf"), (0, 0, 0.3, 0.3, 0.7, 1, 97.7)),
)
_PRIORITIES = ("P0", "P1", "P2", "P3")
_CHANNELS = ("phone", "email", "web", "chat", "walk_in")
_CHANNEL_WEIGHTS = (20, 35, 25, 15, 5)
_LEVELS = ("L1", "L2", "L3")
_LEVELS_BY_TEAM: dict[str, tuple[int, int, int]] = {
    "servicedesk": (85, 15, 0),
    "support": (30, 60, 10),
    "rnd": (0, 30, 70),
    "ops": (0, 60, 40),
    "product": (20, 60, 20),
}
_GENERAL_TAGS = ("urgent", "follow-up", "escalated", "known-issue")

_LOCAL_OFFSET = 8 * 3600  # working hours follow UTC+8, where the busiest demo customers sit
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 20, 20, 18, 12, 15, 19, 19, 17, 13, 8, 6, 4, 3, 2, 1)
_DAYS = 365
_DAY = 86400.0
_HOUR = 3600.0

# Slot values for the text templates; `_SLOT_MAKERS` below builds the numeric ones.
_SLOTS: dict[str, tuple[str, ...]] = {
    "floor": tuple(str(i) for i in range(1, 19)),
    "printer": (
        "HP LaserJet M607 (3F-East)", "RICOH MP C3004", "Canon iR-ADV C5535", "Brother HL-L6400",
        "Kyocera TASKalfa 4053ci", "Xerox VersaLink C7020",
    ),
    "app": (
        "SAP", "Outlook", "Teams", "Salesforce", "the ERP", "the HR portal", "Jira", "SharePoint",
        "the expense system", "Power BI", "the CRM",
    ),
    "app_zh": ("SAP", "OA系统", "企业微信", "钉钉", "ERP系统", "财务系统", "报销系统", "CRM系统", "人事系统"),
    "app_install": (
        "Visio", "Adobe Acrobat Pro", "AutoCAD", "Power BI Desktop", "Python 3.12", "SPSS", "Tableau",
        "WPS Office", "Zoom", "Project Professional",
    ),
    "site": (
        "London HQ", "the Shanghai office", "the Manchester branch", "Warehouse 3", "the Beijing office",
        "the Leeds site", "the Shenzhen plant", "head office",
    ),
    "site_zh": ("上海办公室", "北京分公司", "深圳工厂", "杭州仓库", "广州分部", "苏州研发中心", "总部大楼"),
    "n": ("2", "3", "4", "5", "6", "8", "10", "12", "15", "20", "25", "30"),
    "hours": ("2", "4", "24"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "weekday_zh": ("周一", "周二", "周三", "周四", "周五"),
    "server": ("srv-app-02", "db-prod-01", "mail-gw-01", "fs01", "vpn-gw-sh", "erp-app-03", "k8s-node-07"),
    "browser": ("Chrome", "Firefox", "Safari", "Edge"),
    "device": ("ThinkPad T14", "Dell Latitude 5440", "MacBook Pro", "HP EliteBook 840", "Surface Pro 9"),
    "device_zh": ("联想ThinkPad", "戴尔笔记本", "华为MateBook", "MacBook", "台式机"),
    "phone_model": ("iPhone 15", "Huawei Mate 60", "Samsung Galaxy S23", "Xiaomi 14", "Pixel 8"),
    "version": ("4.2.1", "4.3.0", "5.0.2", "5.1.0", "2.18.7"),
    "mailbox": ("finance-shared", "orders", "hr-team", "invoices", "reception"),
    "share": ("\\\\fs01\\finance", "\\\\fs02\\projects", "S:\\Shared\\HR", "\\\\fs01\\sales", "P:\\Procurement"),
}  # fmt: skip
_SLOT_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "asset": lambda r: f"LT-{r.randint(10000, 99999)}",
    "ip": lambda r: f"10.{r.randint(1, 60)}.{r.randint(0, 255)}.{r.randint(2, 254)}",
    "invoice": lambda r: f"INV-{r.randint(2024, 2026)}-{r.randint(1000, 99999):05d}",
    "amount": lambda r: f"{r.randint(120, 98000) + r.randint(0, 99) / 100:,.2f}",
    "ref": lambda r: f"{r.choice(('CS', 'SR', 'VND'))}{r.randint(100000, 999999)}",
    "room": lambda r: f"{r.randint(1, 18)}{r.randint(1, 40):02d}",
    "dept": lambda r: r.choice(_DEPTS_COMMON_EN),
    "dept_zh": lambda r: r.choice(_DEPTS_ZH),
}


# A case is one kind of problem: (subject, symptom, possible error texts, resolution). Subject,
# description, replies and resolution of a ticket all come from the same case, so they agree.
_Case = tuple[str, str, tuple[str, ...], str]


@dataclass(frozen=True)
class _Topic:
    key: str
    weight: float
    category: str
    tags: tuple[str, ...]
    zh_tags: tuple[str, ...]
    teams: tuple[tuple[str, float], ...]
    types: tuple[tuple[str, float], ...]
    cases_en: tuple[_Case, ...]
    cases_zh: tuple[_Case, ...]
    priorities: tuple[float, ...] | None = None  # None: by ticket type
    requests: tuple[str, ...] = ()  # subjects of the cases that are service requests, not problems


_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "printer", 9, "Hardware", ("printer", "hardware"), ("打印机",),
        (("servicedesk", 3), ("support", 1)), (("incident", 4), ("service_request", 1)),
        (
            ("Printer on floor {floor} not printing",
             "When I send a document to {printer} on floor {floor} nothing comes out and the job stays in the queue.",
             ("Error - printing", "Printer offline"),
             "Cleared the stuck jobs, restarted the print spooler and reinstalled the driver for {printer}."),
            ("Cannot connect to printer {printer}", "{printer} shows as offline on every PC in our area.",
             ("Printer offline", "Operation could not be completed (error 0x00000709)"),
             "The printer had picked up a new IP address from DHCP; set a reservation and re-added the queue."),
            ("{printer} reports a paper jam but the tray is empty",
             "The display says there is a paper jam in tray 2, but there is no paper stuck anywhere.",
             ("Paper jam in tray 2", "49.4C02 Error - turn off then on"),
             "Replaced the worn pickup roller and cleaned the sensor; test pages print correctly."),
            ("Scan to email not working on the floor {floor} printer",
             "Scanning to email on the floor {floor} printer fails; the scan never arrives.",
             ("Scan failed: SMTP authentication error",), "Updated the scan-to-email SMTP password on the device."),
            ("Printer prints blank pages",
             "Pages from {printer} come out blank or with grey streaks since the toner was replaced.", (),
             "Removed the sealing tape left on the new toner cartridge and ran a cleaning cycle."),
        ),
        (
            ("打印机无法连接网络", "{floor}楼的打印机在所有电脑上都显示脱机，无法连接网络。", ("Printer offline",),
             "打印机的IP地址变了，已在DHCP中做保留并重新添加打印机。"),
            ("{floor}楼打印机无法打印", "发送到{floor}楼打印机的文件一直没有打印出来，任务卡在队列里。",
             ("Error - printing",), "清除了卡住的打印任务，重启打印服务并重新安装了驱动。"),
            ("打印机提示卡纸但里面没有纸", "打印机屏幕提示纸盒2卡纸，但打开检查里面并没有纸。",
             ("Paper jam in tray 2",),
             "更换了磨损的搓纸轮并清洁了传感器，测试页打印正常。"),
            ("打印机打印出来是空白页", "换了新硒鼓以后，打印出来的页面是空白的或者有灰色条纹。", (),
             "新硒鼓的封条没有撕掉，已处理并执行清洁，打印正常。"),
        ),
    ),
    _Topic(
        "vpn", 8, "Network", ("vpn", "network"), ("网络",),
        (("support", 3), ("ops", 1)), (("incident", 5), ("service_request", 1)),
        (
            ("VPN connection drops every few minutes",
             "The VPN client connects, then drops after a few minutes and I lose my {app} session.",
             ("Connection attempt has timed out",), "Upgraded the VPN client to {version}; the drops stopped."),
            ("Cannot connect to VPN from home", "From home the VPN never finishes connecting; it worked last week.",
             ("Error 809: The network connection between your computer and the VPN server could not be established",),
             "The home router was blocking UDP 4500; switched the profile to TCP 443."),
            ("VPN login failed after password change", "Since my password change I cannot log in to the VPN at all.",
             ("AnyConnect: Login failed", "Certificate validation failure"),
             "Reset the VPN token and re-enrolled the certificate; the connection has been stable since."),
            ("VPN connects but internal sites don't load",
             "I can log in to the VPN but {app} and the intranet do not open.", ("DNS_PROBE_FINISHED_NXDOMAIN",),
             "The VPN profile was missing the internal DNS servers; pushed the corrected profile."),
            ("Request VPN access for a new starter in {dept}",
             "A new colleague joins {dept} on {weekday} and needs VPN access to work from home.", (),
             "Created the VPN account, added it to the VPN-Users group and sent the setup guide."),
        ),
        (
            ("VPN 登录失败", "修改密码以后就一直无法登录VPN，提示登录失败。", ("AnyConnect: Login failed",),
             "重置了VPN令牌并重新申请证书，已可以正常登录。"),
            ("VPN 连接频繁断开", "VPN客户端连上几分钟就自动断开，{app_zh}也跟着掉线。",
             ("Connection attempt has timed out",), "将VPN客户端升级到{version}后不再掉线。"),
            ("在家无法连接公司VPN", "在家里一直连不上VPN，上周还是好的。", ("Error 809",),
             "家里路由器屏蔽了UDP 4500端口，已将配置切换为TCP 443。"),
            ("VPN 连上后打不开内网系统", "VPN能登录，但是{app_zh}和内网都打不开。", (),
             "VPN配置缺少内网DNS，已下发新的配置文件。"),
        ),
        requests=("Request VPN access for a new starter in {dept}",),
    ),
    _Topic(
        "login", 10, "Account", ("login", "password"), ("账号",),
        (("servicedesk", 4), ("support", 1)), (("incident", 3), ("service_request", 2), ("question", 1)),
        (
            ("Account locked out", "After three wrong attempts my account was locked and now I can't log in anywhere.",
             ("Your account has been locked out",),
             "Unlocked the account; an old password saved on the user's phone caused the lockouts and was removed."),
            ("Cannot log in to {app}",
             "I can't sign in to {app}; it says my password is wrong although I just changed it.",
             ("The user name or password is incorrect",),
             "The password change had not reached {app} yet; forced a sync and the user signed in."),
            ("Password reset request", "My password expired while I was on leave and I cannot reset it myself.",
             ("Your password has expired and must be changed",),
             "Reset the password after verifying the user by phone and showed the self-service portal."),
            ("MFA prompt loops after sign-in",
             "The MFA prompt keeps appearing again after I approve it on my new phone.",
             ("AADSTS50076: you must use multi-factor authentication to access this resource",),
             "Re-registered the MFA method on the new phone."),
        ),
        (
            ("账号被锁定", "输错三次密码后账号被锁，现在所有系统都登录不了。", ("Your account has been locked out",),
             "已解锁账号，手机上保存的旧密码导致反复锁定，已删除。"),
            ("无法登录{app_zh}", "登录{app_zh}时提示密码错误，但我刚刚改过密码。", ("用户名或密码错误",),
             "新密码尚未同步到{app_zh}，已手动同步，用户已成功登录。"),
            ("申请重置密码", "休假期间密码过期了，自己无法重置。", (), "电话核实身份后已重置密码。"),
            ("登录时一直提示多因素认证", "换了新手机以后，确认多因素认证后又重复弹出认证提示。", (),
             "重新为新手机绑定了多因素认证。"),
        ),
        requests=("Password reset request", "申请重置密码"),
    ),
    _Topic(
        "email", 9, "Email", ("email",), ("邮件",),
        (("servicedesk", 2), ("support", 2)), (("incident", 4), ("service_request", 1), ("question", 1)),
        (
            ("Outlook keeps asking for my password",
             "Outlook prompts for my password every few minutes even though I enter it correctly.",
             ("Disconnected from Microsoft Exchange",), "Rebuilt the Outlook profile; the password prompts stopped."),
            ("Emails to external addresses bounce", "Messages I send to customers come back with a bounce notice.",
             ("550 5.7.1 Message rejected as spam by content filtering",),
             "Our domain was on a blocklist after a compromised account; delisted it and tightened SPF."),
            ("Shared mailbox {mailbox} not visible in Outlook",
             "The shared mailbox {mailbox} disappeared from my Outlook after the weekend.", (),
             "Re-granted Full Access to {mailbox}; it appears again after a restart."),
            ("Mailbox full - cannot send", "I get a warning that my mailbox is full and I can no longer send.",
             ("554 5.2.2 mailbox full",), "Archived old mail and raised the mailbox quota to 100 GB."),
            ("Calendar invites not arriving", "Meeting invites from colleagues in {dept} never arrive in my calendar.",
             (), "Removed a broken inbox rule that moved invites to a subfolder."),
        ),
        (
            ("Outlook 一直提示输入密码", "Outlook每隔几分钟就要求重新输入密码。",
             ("Disconnected from Microsoft Exchange",),
             "重建了Outlook配置文件，不再提示输入密码。"),
            ("发往外部的邮件被退回", "发给客户的邮件都被退回来了。", ("550 5.7.1 Message rejected as spam",),
             "公司域名被列入垃圾邮件黑名单，已申请移除并完善SPF记录。"),
            ("邮箱已满无法发送邮件", "提示邮箱已满，现在无法发送邮件。", ("554 5.2.2 mailbox full",),
             "归档了旧邮件并将邮箱容量提高到100 GB。"),
            ("收不到会议邀请", "同事发的会议邀请一直收不到。", (), "删除了一条把邀请移到子文件夹的错误规则。"),
        ),
    ),
    _Topic(
        "network", 8, "Network", ("network", "wifi"), ("网络",),
        (("ops", 2), ("support", 2)), (("incident", 1),),
        (
            ("No network connection at desk {room}",
             "My desk phone and PC both lose the network at the same time several times a day.",
             ("No Internet, secured",), "Replaced the faulty patch cable and re-enabled the switch port."),
            ("Wi-Fi very slow in meeting rooms",
             "The Wi-Fi in the meeting rooms on floor {floor} is so slow that video calls freeze.", (),
             "Added a second access point on floor {floor} and moved it off channel 6."),
            ("Cannot reach file share {share}", "The mapped drive {share} cannot be reached, websites load fine.",
             ("The network path was not found (0x80070035)",),
             "Corrected the DNS suffix handed out by DHCP; the share resolves again."),
            ("Intermittent packet loss at {site}",
             "Everyone at {site} has intermittent packet loss; calls drop and pages time out.",
             ("Request timed out (ping {ip})", "ERR_CONNECTION_RESET"),
             "The ISP replaced a faulty line card; the packet loss is gone."),
        ),
        (
            ("{floor}楼无线网络信号很差", "{floor}楼会议室的无线网络很慢，视频会议经常卡住。", (),
             "在{floor}楼增加了一个无线AP并调整信道。"),
            ("工位网络无法连接", "工位电脑和座机每天都会同时断网好几次。", ("No Internet, secured",),
             "更换了损坏的网线并重新启用交换机端口。"),
            ("无法访问共享文件夹", "映射的共享盘无法访问，但其他网站正常。", ("0x80070035",),
             "修正了DHCP下发的DNS后缀，共享盘恢复访问。"),
            ("{site_zh}网络时断时续", "{site_zh}所有人都出现网络时断时续的情况。", ("Request timed out",),
             "运营商更换了线路板卡，丢包问题消失。"),
        ),
    ),
    _Topic(
        "hardware", 8, "Hardware", ("hardware", "laptop"), ("硬件",),
        (("servicedesk", 3), ("support", 1)), (("incident", 3), ("service_request", 2)),
        (
            ("Laptop won't boot", "My {device} shows the logo and then restarts in a loop.", ("No bootable device",),
             "Replaced the SSD and restored the user's profile from backup."),
            ("{device} battery not charging", "The battery stays at 0% even though the charger is plugged in.",
             ("Plugged in, not charging",), "Battery swapped under warranty."),
            ("Second monitor not detected", "The second monitor stays black when the laptop is docked.", (),
             "Updated the dock firmware and display drivers."),
            ("Blue screen on {device}",
             "The laptop blue-screens two or three times a day, mostly when joining video calls.",
             ("CRITICAL_PROCESS_DIED", "DRIVER_IRQL_NOT_LESS_OR_EQUAL"),
             "Rolled back the faulty graphics driver; no crash since."),
            ("Request replacement laptop for {dept}",
             "My {device} is five years old and too slow for daily work; my manager approved a replacement.", (),
             "Issued a new laptop and migrated the user's data; the old one (asset {asset}) was returned."),
        ),
        (
            ("笔记本无法开机", "{device_zh}开机后停在logo界面然后反复重启。", ("No bootable device",),
             "更换了固态硬盘并从备份恢复了用户数据。"),
            ("电脑电池无法充电", "插着充电器电量也一直是0%。", (), "电池已在保修期内更换。"),
            ("外接显示器无法识别", "接上扩展坞以后外接显示器一直黑屏。", (), "更新了扩展坞固件和显卡驱动。"),
            ("电脑频繁蓝屏", "电脑每天蓝屏两三次，一般是在开视频会议的时候。", ("CRITICAL_PROCESS_DIED",),
             "回退了有问题的显卡驱动，之后没有再蓝屏。"),
            ("申请更换笔记本电脑", "{device_zh}已经用了五年，运行很慢，领导已批准更换。", (),
             "已发放新电脑并迁移数据，旧电脑（资产编号{asset}）已回收。"),
        ),
        requests=("Request replacement laptop for {dept}", "申请更换笔记本电脑"),
    ),
    _Topic(
        "software", 7, "Software", ("software",), ("软件",),
        (("servicedesk", 3), ("support", 1)), (("service_request", 4), ("incident", 1)),
        (
            ("Please install {app_install} on my laptop",
             "I need {app_install} for the new reporting work in {dept}; my manager has approved it.",
             ("This app has been blocked by your system administrator",),
             "Installed {app_install} through the software centre."),
            ("Licence for {app_install} expired",
             "{app_install} says my licence expired this week and only opens read-only.",
             ("Licence check failed: no seats available",), "Assigned a licence seat from the pool."),
            ("{app_install} crashes on start", "{app_install} closes immediately after the splash screen.",
             ("The application was unable to start correctly (0xc000007b)",),
             "Repaired the installation and cleared the user cache."),
        ),
        (
            ("申请安装{app_install}", "{dept_zh}的新工作需要用到{app_install}，领导已经批准。", (),
             "已通过软件中心安装{app_install}。"),
            ("{app_install}许可证过期", "{app_install}本周开始提示许可证已过期，只能只读打开。",
             ("Licence check failed",), "已从许可证池中分配一个授权。"),
            ("{app_install}启动后闪退", "{app_install}打开后马上闪退。", ("0xc000007b",), "修复安装并清理了用户缓存。"),
        ),
        requests=("Please install {app_install} on my laptop", "申请安装{app_install}"),
    ),
    _Topic(
        "access", 7, "Access", ("access",), ("权限",),
        (("servicedesk", 2), ("ops", 2)), (("service_request", 4), ("incident", 1)),
        (
            ("Access to shared folder {share}", "I moved to {dept} and need read/write access to {share}.", (),
             "Added the user to the {dept} security group after manager approval."),
            ("Permission denied on {share}",
             "When I open {share} I get an access denied message; it worked last week.", ("Access is denied",),
             "A migration script had reset the folder permissions; restored the group ACL."),
            ("Need access to {app} reports", "I need to see the {app} reports for {dept}.", ("403 Forbidden",),
             "Granted the reporting role in {app} after manager approval."),
            ("Remove access for a leaver in {dept}",
             "A colleague left {dept} on {weekday}; please remove all their access.", (),
             "Disabled the account and removed its group memberships."),
        ),
        (
            ("申请共享文件夹访问权限", "我调到了{dept_zh}，需要共享盘的读写权限。", (),
             "经主管审批后已将用户加入相应安全组。"),
            ("访问共享盘提示没有权限", "打开共享文件夹时提示拒绝访问，上周还可以。", ("Access is denied",),
             "迁移脚本重置了文件夹权限，已恢复组权限。"),
            ("离职员工权限回收", "{dept_zh}有同事{weekday_zh}离职，请回收其所有权限。",
             (), "已禁用账号并移除所有组权限。"),
        ),
        requests=(
            "Access to shared folder {share}", "Need access to {app} reports", "Remove access for a leaver in {dept}",
            "申请共享文件夹访问权限", "离职员工权限回收",
        ),
    ),
    _Topic(
        "billing", 7, "Billing", ("billing", "invoice"), ("账单",),
        (("product", 2), ("support", 1), ("servicedesk", 1)),
        (("question", 3), ("complaint", 2), ("service_request", 1)),
        (
            ("Invoice {invoice} amount looks wrong",
             "Invoice {invoice} shows {amount} but our contract says a lower amount.", (),
             "Issued a credit note for the overcharge and sent the corrected invoice."),
            ("Charged twice this month", "We were charged twice for the same period.",
             ("Duplicate transaction detected",),
             "Refunded the duplicate charge; it takes 3-5 working days to arrive."),
            ("Request a copy of invoice {invoice}",
             "Our finance team needs a copy of invoice {invoice} with the VAT number corrected.", (),
             "Sent the re-issued invoice with the correct VAT number."),
            ("Refund not received for {invoice}", "The refund promised for {invoice} has not arrived.", (),
             "The refund had gone to an old bank account; reissued it to the current one."),
        ),
        (
            ("账单金额有误", "发票{invoice}显示金额为{amount}元，与合同金额不一致。", (),
             "已开具红字发票并重新寄出正确发票。"),
            ("本月被重复扣费", "同一个计费周期被扣了两次费用。", (), "重复扣款已退回，预计3-5个工作日到账。"),
            ("申请重新开具发票", "财务需要重新开具发票{invoice}，税号有误。", (), "已按正确税号重新开具发票。"),
            ("退款一直没有到账", "之前承诺的退款到现在还没有到账。", (), "退款误退到旧账户，已重新退至当前账户。"),
        ),
        requests=("Request a copy of invoice {invoice}", "申请重新开具发票"),
    ),
    _Topic(
        "application", 8, "Application", ("erp", "bug"), ("故障",),
        (("rnd", 4), ("support", 1)), (("incident", 5), ("complaint", 1)),
        (
            ("Error when saving a purchase order in {app}",
             "Saving a purchase order in {app} fails with an error and the order is lost.",
             ("HTTP 500 Internal Server Error", "ORA-00060: deadlock detected while waiting for resource"),
             "Deployed the hotfix for the deadlock when saving orders."),
            ("{app} report shows wrong totals",
             "The monthly report in {app} shows totals that differ from the line items.", (),
             "Fixed in release {version}: the rounding in the totals query is corrected."),
            ("Cannot submit expense claim", "When I click Submit on my expense claim nothing happens.",
             ("TypeError: Cannot read properties of undefined (reading 'total')",),
             "Fixed a front-end bug with empty cost centres; released in {version}."),
            ("Export to Excel fails in {app}", "Exporting more than {n}00 rows from {app} to Excel fails.",
             ("Unexpected error, reference {ref}",),
             "Raised the export limit and moved large exports to a background job in {version}."),
            ("Order status not updating in {app}",
             "Orders stay in 'Processing' in {app} although they were shipped.",
             ("NullPointerException at OrderService.save(OrderService.java:214)",),
             "Applied a data fix to the affected orders; the root cause is fixed in {version}."),
        ),
        (
            ("{app_zh}保存采购订单报错", "在{app_zh}中保存采购订单时报错，订单没有保存。",
             ("HTTP 500 Internal Server Error",), "已部署补丁修复订单保存时的死锁问题。"),
            ("报表合计金额不正确", "{app_zh}月度报表的合计与明细对不上。", (), "已在{version}版本中修复合计计算问题。"),
            ("无法提交报销单", "点击提交报销单后没有任何反应。",
             (), "修复了成本中心为空时的前端问题，已在{version}版本发布。"),
            ("导出Excel失败", "导出超过{n}00行数据到Excel时失败。",
             ("Unexpected error",), "提高了导出上限并改为后台导出。"),
        ),
    ),
    _Topic(
        "outage", 3, "Outage", ("outage", "network"), ("紧急",),
        (("ops", 4), ("support", 1)), (("incident", 1),),
        (
            ("{app} down for all users", "Nobody at {site} can open {app} since {hhmm}.",
             ("503 Service Unavailable",),
             "Failed over to the standby database after the primary ran out of disk space; review scheduled."),
            ("Website returning 502 errors", "The public website returns errors for every page.",
             ("502 Bad Gateway",),
             "An expired certificate on the load balancer was the cause; renewed it and restarted the pool."),
            ("Internet down at {site}", "All users at {site} lost internet access at the same time.", (),
             "Fibre cut near {site}; the carrier restored service."),
            ("Payment gateway not responding", "Card payments fail for all customers; checkout hangs, then errors.",
             ("upstream timed out (110: Connection timed out)",),
             "The payment provider had an outage; switched to the backup gateway until it recovered."),
        ),
        (
            ("{app_zh}全员无法访问", "{site_zh}从{hhmm}开始所有人都无法打开{app_zh}。", ("503 Service Unavailable",),
             "主数据库磁盘空间耗尽，已切换到备库并安排故障复盘。"),
            ("官网返回502错误", "官网所有页面都报错。",
             ("502 Bad Gateway",), "负载均衡证书过期，已更新证书并恢复服务。"),
            ("{site_zh}断网", "{site_zh}所有人同时断网。", (), "运营商光缆被挖断，已抢修恢复。"),
            ("支付网关无响应", "所有客户刷卡支付失败，页面一直转圈后报错。",
             (), "支付服务商故障，已临时切换到备用通道。"),
        ),
        (20, 45, 30, 5),
    ),
    _Topic(
        "performance", 5, "Performance", ("performance",), ("性能",),
        (("rnd", 2), ("ops", 2)), (("incident", 3), ("complaint", 1)),
        (
            ("{app} very slow since this morning", "Every screen in {app} takes {n} seconds or more to open.",
             ("Timeout after 60000 ms",), "Scaled out the application servers and tuned the connection pool."),
            ("Reports take minutes to load",
             "Opening the sales report takes several minutes and sometimes times out.", ("504 Gateway Time-out",),
             "Added a missing index on the orders table; the report now loads in 2 s."),
            ("Laptop extremely slow after update", "After the update on {weekday} my laptop is extremely slow.", (),
             "A full antivirus scan was scheduled during working hours; moved it to the night."),
        ),
        (
            ("{app_zh}非常慢", "{app_zh}每个页面都要{n}秒以上才能打开。", ("Timeout after 60000 ms",),
             "扩容了应用服务器并调整了连接池。"),
            ("报表加载需要好几分钟", "打开销售报表要好几分钟，有时还会超时。", ("504 Gateway Time-out",),
             "为订单表增加了缺失的索引，报表2秒内即可打开。"),
            ("系统更新后电脑非常卡", "{weekday_zh}系统更新后电脑变得非常卡。", (),
             "杀毒软件全盘扫描安排在工作时间，已调整到夜间。"),
        ),
    ),
    _Topic(
        "mobile", 4, "Mobile", ("mobile",), ("手机",),
        (("rnd", 2), ("support", 2)), (("incident", 3), ("question", 1)),
        (
            ("Mobile app crashes on {phone_model}", "The app closes immediately when I open it on my {phone_model}.",
             ("App has stopped",), "Fixed in app version {version}; the user updated from the store."),
            ("Cannot sync email on my phone", "Email stopped syncing on my phone after I changed my password.",
             ("Unable to sync (code 1002)",), "Removed and re-added the mail account on the phone."),
            ("App stuck on the login screen", "The mobile app stays on the login screen after I enter my details.",
             ("Session expired, please log in again",), "Cleared the app data and re-enrolled the device in MDM."),
        ),
        (
            ("手机App闪退", "在{phone_model}上打开App后马上闪退。", (), "已在{version}版本修复，用户更新后正常。"),
            ("手机无法同步邮件", "修改密码后手机邮件就不同步了。", ("Unable to sync (code 1002)",),
             "在手机上删除并重新添加了邮箱账号。"),
            ("收不到推送通知", "最近几天手机App收不到任何推送通知。", (), "重新注册了推送令牌，通知恢复正常。"),
        ),
    ),
    _Topic(
        "feature", 5, "Product", ("feature-request",), ("建议",),
        (("product", 4), ("rnd", 1)), (("complaint", 2), ("question", 2), ("service_request", 1)),
        (
            ("Suggestion: add bulk export to {app}",
             "It would save our team a lot of time if {app} could export all records at once.", (),
             "Added to the product backlog; planned for release {version}."),
            ("Please add a dark mode", "Several of us work night shifts and would like a dark mode.", (),
             "Dark mode is already available under Settings > Display; explained it to the customer."),
            ("Feature request: filter by department", "We would like to filter the dashboard by department.", (),
             "Added to the product backlog; planned for release {version}."),
        ),
        (
            ("建议增加批量导出功能", "如果{app_zh}能一次导出全部记录，可以节省很多时间。", (),
             "已加入产品需求池，计划在{version}版本实现。"),
            ("希望支持深色模式", "我们有同事上夜班，希望系统支持深色模式。",
             (), "该功能在设置>显示中已提供，已向客户说明。"),
            ("希望支持中文界面", "部分同事英文不好，希望系统支持中文界面。", (),
             "已在{version}版本提供中文界面，已告知客户切换方法。"),
        ),
        (1, 5, 45, 49),
    ),
    _Topic(
        "complaint", 4, "Service", ("complaint",), ("投诉",),
        (("servicedesk", 2), ("product", 1)), (("complaint", 1),),
        (
            ("Complaint: no response to my ticket for a week",
             "I reported a problem a week ago and nobody has contacted me.", (),
             "Apologised to the customer, escalated internally and agreed a follow-up call."),
            ("Unhappy with the engineer visit", "The engineer arrived two hours late and did not fix the issue.", (),
             "Apologised and arranged a second visit with a senior engineer; the issue is fixed."),
            ("Complaint about repeated outages", "This is the third outage this month and it affects our customers.",
             (), "Held a service review with the customer and applied a goodwill credit."),
            ("Waited on hold for 40 minutes", "I waited on the phone for 40 minutes before anyone answered.", (),
             "Apologised; staffing at peak hours has been increased."),
        ),
        (
            ("投诉：问题一周没有人处理", "一周前就反映了问题，到现在都没有人联系我。", (),
             "已向客户致歉，内部升级处理并约定回访。"),
            ("对上门服务不满意", "工程师迟到了两个小时，问题也没有解决。", (),
             "已致歉并安排资深工程师再次上门，问题已解决。"),
            ("投诉系统反复故障", "这是本月第三次故障了，严重影响我们的客户。",
             (), "与客户召开服务复盘会，已给予补偿。"),
            ("电话排队等了40分钟", "打客服电话排队等了40分钟才有人接。", (), "已致歉，高峰时段已增加坐席。"),
        ),
    ),
    _Topic(
        "reporting", 5, "Reporting", ("report",), ("报表",),
        (("support", 2), ("product", 1), ("rnd", 1)), (("question", 4), ("service_request", 1)),
        (
            ("How do I schedule a report in {app}?",
             "I would like the weekly sales report to arrive by email every Monday.", (),
             "Sent the how-to guide and set up the schedule together with the customer."),
            ("Question about data retention", "Our auditors ask how long we keep customer data.", (),
             "Answered: data is kept for 7 years; attached the retention policy."),
            ("Where can I find last year's invoices?",
             "I need last year's invoices for our auditors but can't find them in the portal.", (),
             "Explained where the invoice archive is and sent last year's invoices as one file."),
            ("How do I add a user to my team?",
             "A new colleague joined {dept}; how do I add them to our team in {app}?", (),
             "Sent the step-by-step guide; the customer added the user."),
        ),
        (
            ("如何在{app_zh}中设置定时报表？", "希望每周一自动收到销售周报邮件。",
             (), "已发送操作指南，并协助客户完成设置。"),
            ("咨询数据保存期限", "审计要求我们说明客户数据保存多长时间。",
             (), "已答复：数据保存7年，附上相关制度文件。"),
            ("去年的发票在哪里查看？", "审计需要去年的发票，但在门户里找不到。",
             (), "已告知发票归档位置，并打包发送去年全部发票。"),
        ),
    ),
    _Topic(
        "security", 4, "Security", ("security",), ("安全",),
        (("ops", 4),), (("incident", 1),),
        (
            ("Suspicious email asking for my password",
             "I received an email that looks like it comes from IT asking me to confirm my password.", (),
             "Confirmed phishing; blocked the sender domain and purged the message from all mailboxes."),
            ("Possible phishing link clicked", "I clicked a link in an email before I noticed it was suspicious.", (),
             "Reset the password, revoked all sessions and scanned the laptop; nothing found."),
            ("Unknown sign-in from abroad", "I got an alert about a sign-in from a country I have never visited.",
             ("Sign-in blocked: unfamiliar location",), "Reset the password, revoked all sessions and enforced MFA."),
            ("Antivirus found malware on {device}",
             "The antivirus shows a warning that it found a threat on my {device}.",
             ("Trojan:Win32/Wacatac.B!ml detected",),
             "Isolated, scanned and re-imaged the machine; no data loss found."),
        ),
        (
            ("收到可疑邮件要求输入密码", "收到一封假冒IT部门的邮件，要求确认密码。", (),
             "确认为钓鱼邮件，已拦截发件域名并从所有邮箱中清除。"),
            ("误点了钓鱼链接", "点开了邮件里的链接后才发现可疑。",
             (), "已重置密码、注销所有会话并扫描电脑，未发现异常。"),
            ("账号在境外异常登录", "收到提醒说我的账号在境外登录，但我没有出国。",
             ("Sign-in blocked: unfamiliar location",),
             "已重置密码、注销所有会话并启用多因素认证。"),
            ("杀毒软件报告发现病毒", "杀毒软件提示在电脑上发现威胁。", ("Trojan:Win32/Wacatac.B!ml detected",),
             "已隔离电脑并重装系统，未发现数据泄露。"),
        ),
        (8, 30, 50, 12),
    ),
)  # fmt: skip

# Priority by ticket type when the topic has no skew of its own; with about half the tickets
# being incidents this gives roughly P0 3%, P1 15%, P2 55%, P3 27% overall.
_PRIORITY_BY_TYPE: dict[str, tuple[float, ...]] = {
    "incident": (5, 20, 51, 24),
    "service_request": (0.5, 8, 60, 31.5),
    "question": (0.5, 8, 60, 31.5),
    "complaint": (0.5, 12, 60, 27.5),
}

# Description sentences. "Urgent" impacts go with P0/P1, the mild ones with P2/P3.
_WHEN_EN = (
    "It started this morning around {hhmm}.", "This has been going on since {weekday}.",
    "It first happened after the update on {weekday} evening.", "It happens on and off, roughly every {n} minutes.",
    "Since about {hhmm} today.", "It worked fine until yesterday afternoon.",
)  # fmt: skip
_WHEN_ZH = (
    "今天早上{hhmm}左右开始出现。", "从{weekday_zh}开始一直这样。", "{weekday_zh}晚上系统更新以后出现的。",
    "时好时坏，大约每{n}分钟出现一次。", "昨天下午之前还是正常的。",
)  # fmt: skip
_STEPS_EN = (
    "I already restarted the computer and logged in again, no change.",
    "I cleared the browser cache and tried both {browser} and Edge.", "Colleagues next to me have the same problem.",
    "I unplugged everything and plugged it back in, same result.",
    "I followed the steps in the intranet FAQ but it did not help.", "It also happens when I work from home.",
)  # fmt: skip
_STEPS_ZH = (
    "已经重启过电脑并重新登录，问题依旧。", "清除了浏览器缓存，换了{browser}也不行。", "旁边的同事也有同样的问题。",
    "按照内网常见问题的步骤操作过，没有效果。", "在家里也是一样的情况。",
)  # fmt: skip
_URGENT_EN = (
    "{n} people in {dept} cannot work.", "This blocks our month-end closing.",
    "Customers at the front desk are waiting.", "We have a deadline on {weekday}, please treat this as urgent.",
)  # fmt: skip
_URGENT_ZH = (
    "{dept_zh}有{n}个人无法工作。", "影响月底结账，比较着急。", "前台有客户在等待，请尽快处理。",
    "我们{weekday_zh}有截止日期，比较紧急。",
)  # fmt: skip
_MILD_EN = (
    "Not urgent, but it slows me down.", "There is a workaround for now, but it is annoying.",
    "{n} people in {dept} are affected.", "It would be good to have this sorted by {weekday}.",
)  # fmt: skip
_MILD_ZH = (
    "不算紧急，但影响工作效率。", "目前有临时办法，但很不方便。", "{dept_zh}有{n}个人受影响。",
    "希望{weekday_zh}之前能解决。",
)  # fmt: skip
_REQUEST_EN = ("Needed by {weekday} if possible.", "My manager has approved this.", "Thanks in advance.")
_REQUEST_ZH = ("最好{weekday_zh}之前完成。", "领导已经同意。", "谢谢！")
_ASK_EN = ("Could you let me know?", "Thanks in advance.", "I would appreciate a quick answer.")
_ASK_ZH = ("麻烦告知一下，谢谢。", "请尽快答复，谢谢！")

# Comments. Incident-only templates ask for screenshots or talk about logs; the general ones
# fit any ticket. {resolution} is the ticket's own resolution, so replies and outcome agree.
_FIRST_REPLY_EN = (
    "Hi {first}, thanks for getting in touch. I'm looking into this and will get back to you within {hours} hours."
    "\n\nRegards,\n{agent}",
    "Hello {first}, I've picked this up and will keep you posted here.\n\n{agent}",
)
_FIRST_REPLY_INCIDENT_EN = (
    "Hello {first}, could you send me a screenshot of the error and the asset tag of your device? "
    "That will help us narrow it down.\n\n{agent}",
    "Hi {first}, I've picked this up. Are other people in {dept} affected as well, or only you?\n\nThanks,\n{agent}",
    "Hi {first}, thanks for the details. I can reproduce the problem and I'm checking it with second line.\n\n{agent}",
)
_FIRST_REPLY_ZH = (
    "{first}您好，已收到您的问题，我们正在处理，预计{hours}小时内给您回复。\n\n{agent}",
    "{first}您好，这个问题由我来跟进，有进展会在这里同步。\n\n{agent}",
)
_FIRST_REPLY_INCIDENT_ZH = (
    "{first}您好，麻烦提供一下报错截图和电脑资产编号，方便我们定位问题。\n\n{agent}",
    "{first}您好，请问{dept_zh}其他同事是否也有同样的问题？\n\n{agent}",
)
_ANSWER_EN = (
    "Hi {first}, here is an update. {resolution} Could you check on your side and confirm?\n\n{agent}",
    "Hi {first}, {resolution_lc} Please let me know if anything is still not right.\n\n{agent}",
)
_ANSWER_ZH = ("{first}您好，处理进展：{resolution}请您确认一下是否恢复正常。\n\n{agent}",)
_CUSTOMER_EN = ("Any news on this?", "Just following up on this.", "Is there anything else you need from me?")
_CUSTOMER_INCIDENT_EN = (
    "Any update on this? It's still happening.", "Screenshot attached. The asset tag is {asset}.",
    "Thanks, I tried that but the problem is still there.", "It happened again at {hhmm} today.",
    "My manager is asking when this will be fixed, we have a deadline on {weekday}.",
    "Sorry for the late reply, I was out of the office. Yes, it still happens.",
)  # fmt: skip
_CUSTOMER_ZH = ("请问有进展吗？", "谢谢，麻烦尽快处理。", "请问还需要我提供什么信息吗？")
_CUSTOMER_INCIDENT_ZH = (
    "请问有进展吗？问题还在。", "截图已附上，资产编号是{asset}。", "试过了，还是不行。", "今天{hhmm}又出现了一次。",
    "领导在问什么时候能解决，我们{weekday_zh}有截止日期。",
)  # fmt: skip
_CHASE_EN = (
    "Any update on this? Nobody has been in touch yet.", "Just following up on this ticket.",
    "Some more detail: it also happens for my colleague at the next desk.",
)  # fmt: skip
_CHASE_ZH = ("请问有人处理吗？还没有人联系我。", "跟进一下这个问题。", "补充一下：旁边同事那里也有同样的问题。")
_REOPEN_EN = (
    "Unfortunately the problem is back since this morning.", "This is happening again, please take another look.",
)  # fmt: skip
_REOPEN_ZH = ("问题又出现了，麻烦再看一下。", "今天早上又不行了。")
_NOTE_EN = (
    "Called the customer, no answer. Will try again tomorrow.", "Checked with the account manager; OK to proceed.",
    "Waiting for approval from the customer's manager.",
)  # fmt: skip
_NOTE_INCIDENT_EN = (
    'Checked the logs on {server}: "{error}" around {hhmm}. Escalating to L2.',
    "Looks like the known issue from last {weekday}; linked to the problem record.",
    "Waiting for the vendor, their reference is {ref}.",
    "Reproduced on a test machine with {browser}. Not user specific.",
)
_NOTE_ZH = ("电话联系客户未接通，明天再跟进。", "已与客户经理确认，可以处理。", "等待客户主管审批。")
_NOTE_INCIDENT_ZH = (
    "已查看{server}日志，{hhmm}左右出现“{error}”，升级到二线处理。", "与上周{weekday_zh}的已知问题相同，已关联问题单。",
    "等待厂商处理，厂商工单号{ref}。",
)  # fmt: skip
_VIP_NOTE_EN = "VIP customer: keep them updated every few hours."
_VIP_NOTE_ZH = "VIP客户，请每隔几小时同步一次进展。"
_HOLD_NOTE_EN = (
    "On hold: waiting for replacement parts from the vendor (order {ref}).",
    "On hold until the change window on {weekday}.", "Parked until the customer is back from leave.",
)  # fmt: skip
_HOLD_NOTE_ZH = ("挂起：等待厂商发货备件（订单号{ref}）。", "挂起，等{weekday_zh}的变更窗口再处理。")

_AGENT_COMMENTS = frozenset({"reply", "answer", "note", "hold_note", "vip_note"})

# Column order of the row tuples the writer builds.
_TICKET_COLUMNS = (
    "id", "number", "subject", "description", "type", "category", "priority", "status", "channel",
    "customer_id", "team_id", "assignee_id", "support_level", "resolution", "merged_into_id", "reopen_count",
    "first_response_due", "resolution_due", "expected_at", "created_at", "updated_at", "status_changed_at",
    "first_responded_at", "resolved_at", "closed_at", "version", "sla_paused_at",
)  # fmt: skip
_COMMENT_COLUMNS = ("id", "ticket_id", "kind", "author_id", "customer_id", "body", "created_at")
_EVENT_COLUMNS = ("id", "ticket_id", "actor_id", "at", "kind", "field", "old", "new", "ticket_version")
_TICKET_TAG_COLUMNS = ("ticket_id", "tag_id")

_CHUNK_TICKETS = 5_000  # tickets generated per round: bounds memory for any --tickets


# --- helpers ------------------------------------------------------------------------------------


class _Slots(dict[str, str]):
    """Template values for one ticket, drawn on first use so subject, description and
    comments of a ticket agree (the same printer, the same invoice)."""

    def __init__(self, rng: random.Random, fixed: dict[str, str]) -> None:
        super().__init__(fixed)
        self._rng = rng

    def __missing__(self, key: str) -> str:
        maker = _SLOT_MAKERS.get(key)
        value = maker(self._rng) if maker is not None else self._rng.choice(_SLOTS[key])
        self[key] = value
        return value


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


@dataclass
class _Agent:
    id: int
    login: str
    name_en: str  # how replies are signed in English ...
    name_zh: str  # ... and in Chinese
    team_key: str
    role: str
    chinese: bool


@dataclass
class _Customers:
    ids: list[int]
    greeting: list[str]
    vip: list[bool]
    dept: list[str | None]
    chinese: list[bool]


# --- entry point ---------------------------------------------------------------------------------


def generate_demo(
    session: Session,
    *,
    tickets: int,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Add `tickets` demo tickets (created over the 12 months before `now`) with their
    customers, agents, tags, comments and events, inside the caller's transaction.

    `progress`, if given, is called with the number of tickets written so far after each
    batch. Works on an empty database or one that already has tickets: numbers continue
    after each month's existing serials and `ticket_counter` is brought up to date.
    """
    if tickets < 0:
        raise ValueError("tickets must not be negative")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return _generate(session, tickets=tickets, seed=seed, now=now, progress=progress)
    # The new rows land on many index pages: a roomy page cache (256 MiB, this connection only)
    # keeps them in memory until commit. Put the old size back afterwards, even on failure.
    cache_size = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
    conn.exec_driver_sql("PRAGMA cache_size = -262144")
    try:
        return _generate(session, tickets=tickets, seed=seed, now=now, progress=progress)
    finally:
        with suppress(DBAPIError):
            conn.exec_driver_sql(f"PRAGMA cache_size = {cache_size}")


def _generate(
    session: Session, *, tickets: int, seed: int, now: datetime, progress: Callable[[int], None] | None
) -> DemoSummary:
    rng = random.Random(seed)
    conn = session.connection()
    dialect = conn.dialect.name

    team_ids: dict[str, int] = dict(session.execute(select(_table("team").c.key, _table("team").c.id)).all())  # type: ignore[arg-type]
    type_keys = set(session.execute(select(_table("ticket_type").c.key)).scalars())
    if not team_ids or not type_keys:
        raise ValueError("the database has no teams or ticket types: run `ticketdesk init` first")

    orgs, new_orgs = _ensure_organisations(session)
    agents, new_agents = _ensure_agents(session, rng, team_ids, now)
    n_customers = min(20_000, max(50, tickets // 20))
    customers = _insert_customers(session, rng, orgs, n_customers, now)
    tag_ids = _ensure_tags(session)

    writer = _TicketWriter(session, rng, now, team_ids, type_keys, agents, customers, tag_ids)
    suspended = suspend_fts_triggers(session, ("ticket", "comment")) if dialect == "sqlite" else {}
    done = 0
    for batch in _batches(_creation_times(rng, now, tickets), _CHUNK_TICKETS):
        writer.write(batch)
        done += len(batch)
        if progress is not None:
            progress(done)
    writer.save_counters()
    resume_fts_triggers(session, suspended, {"ticket": writer.first_ticket, "comment": writer.first_comment})

    if dialect == "postgresql":
        # Ids were assigned here, so move the sequences past them for later normal inserts.
        for name in ("customer", "ticket", "comment", "event"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
        session.execute(text("ANALYZE"))  # fresh planner statistics for the new volume
    elif dialect == "sqlite":
        # A bounded ANALYZE (what PRAGMA optimize does) is enough for the planner and fast.
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA analysis_limit = 0")

    return DemoSummary(
        tickets=tickets,
        customers=n_customers,
        organisations=new_orgs,
        agents=new_agents,
        comments=writer.comments,
        events=writer.events,
    )


# --- reference rows ----------------------------------------------------------------------------


def _ensure_organisations(session: Session) -> tuple[list[tuple[int, str, str, bool]], int]:
    """Insert the demo organisations that are missing; returns (id, industry, domain, zh) for all."""
    org = _table("organisation")
    names = [o[0] for o in _ORGS]
    existing = dict(session.execute(select(org.c.name, org.c.id).where(org.c.name.in_(names))).all())
    missing = [{"name": name, "industry": industry} for name, industry, _, _ in _ORGS if name not in existing]
    if missing:
        insert_rows(session, org, missing)
        existing = dict(session.execute(select(org.c.name, org.c.id).where(org.c.name.in_(names))).all())
    return [(existing[name], industry, domain, zh) for name, industry, domain, zh in _ORGS], len(missing)


def _ensure_agents(
    session: Session, rng: random.Random, team_ids: dict[str, int], now: datetime
) -> tuple[list[_Agent], int]:
    """Insert the demo agents whose login is free; existing ones (the seeded admin, or a
    previous demo run) are reused as they are."""
    agent = _table("agent")
    logins = [a[0] for a in _AGENTS]
    existing = {row.login for row in session.execute(select(agent.c.login).where(agent.c.login.in_(logins)))}
    rows = [
        {
            "login": login,
            "display_name": display,
            "email": f"{login}@helpdesk.example.com",
            "role": role,
            "team_id": team_ids.get(team_key),
            "skills": skills,
            "active": True,
            "created_at": now - timedelta(days=_DAYS + rng.randint(10, 900)),
        }
        for login, display, team_key, role, skills in _AGENTS
        if login not in existing
    ]
    if rows:
        insert_rows(session, agent, rows)
    key_of = {tid: key for key, tid in team_ids.items()}
    found = session.execute(
        select(agent.c.id, agent.c.login, agent.c.display_name, agent.c.team_id, agent.c.role, agent.c.skills)
        .where(agent.c.login.in_(logins), agent.c.active.is_(True))
        .order_by(agent.c.id)
    ).all()
    result = []
    for row in found:
        team_key = key_of.get(row.team_id) if row.team_id is not None else None
        if team_key is None:
            continue  # an agent without a team (e.g. the admin) takes no demo tickets
        # "陈伟 Chen Wei" signs Chinese replies 陈伟 and English ones Chen Wei; "Alice Morgan" signs Alice.
        words = row.display_name.split() or [row.login]
        if words[0].isascii():
            name_en = name_zh = words[0]
        else:
            name_zh, name_en = words[0], " ".join(words[1:]) or words[0]
        chinese = "chinese" in (row.skills or "")
        result.append(_Agent(row.id, row.login, name_en, name_zh, team_key, row.role, chinese))
    if not result:
        raise ValueError("no active demo agent with a team: cannot assign demo tickets")
    return result, len(rows)


def _ensure_tags(session: Session) -> dict[str, int]:
    tag = _table("tag")
    names = sorted(
        {"vip", *_GENERAL_TAGS}
        | {t for topic in _TOPICS for t in topic.tags}
        | {t for topic in _TOPICS for t in topic.zh_tags}
    )
    existing = set(session.execute(select(tag.c.name).where(tag.c.name.in_(names))).scalars())
    missing = [{"name": n} for n in names if n not in existing]
    if missing:
        insert_rows(session, tag, missing)
    return dict(session.execute(select(tag.c.name, tag.c.id).where(tag.c.name.in_(names))).all())  # type: ignore[arg-type]


def _insert_customers(
    session: Session, rng: random.Random, orgs: list[tuple[int, str, str, bool]], count: int, now: datetime
) -> _Customers:
    customer = _table("customer")
    used = set(session.execute(select(customer.c.email).where(customer.c.email.is_not(None))).scalars())
    next_id = (session.execute(select(func.max(customer.c.id))).scalar_one() or 0) + 1
    # A few big organisations and a long tail, like real customer bases.
    org_cum = _cum([1 / (rank + 1) ** 0.8 for rank in range(len(orgs))])
    org_order = list(range(len(orgs)))
    rng.shuffle(org_order)
    out = _Customers([], [], [], [], [])
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        if rng.random() < 0.05:
            org_id, industry, zh = None, None, rng.random() < 0.3
            domain = rng.choice(_FREEMAIL_ZH if zh else _FREEMAIL_EN)
        else:
            org_id, industry, domain, zh = orgs[org_order[bisect_right(org_cum, rng.random() * org_cum[-1])]]
        if zh:
            (surname, sur_py), (given, given_py) = rng.choice(_SURNAMES_ZH), rng.choice(_GIVEN_ZH)
            name, greeting = surname + given, surname + given
            local = f"{sur_py}.{given_py}" if rng.random() < 0.6 else f"{given_py}{sur_py}"
            phone: str | None = f"1{rng.choice(('38', '39', '58', '86', '35', '37', '88'))}{rng.randrange(10**8):08d}"
            dept: str | None = rng.choice(_DEPTS_ZH)
        else:
            first, last = rng.choice(_FIRST_EN), rng.choice(_LAST_EN)
            name, greeting = f"{first} {last}", first
            local = f"{first}.{last}".replace("'", "") if rng.random() < 0.7 else f"{first[0]}{last}".replace("'", "")
            phone = (
                f"+44 20 7946 {rng.randrange(10**4):04d}"
                if rng.random() < 0.5
                else f"+1 555 01{rng.randrange(100):02d}"
            )
            dept = rng.choice(_DEPTS_EN.get(industry or "", ()) + _DEPTS_COMMON_EN)
        if rng.random() < 0.1:
            phone = None
        if org_id is None:
            dept = None
        local = local.lower()
        email = f"{local}@{domain}"
        suffix = 1
        while email in used:  # emails are unique: number the namesakes
            suffix += 1
            email = f"{local}{suffix}@{domain}"
        used.add(email)
        vip = rng.random() < 0.05
        rows.append(
            {
                "id": next_id,
                "name": name,
                "email": email,
                "phone": phone,
                "organisation_id": org_id,
                "department": dept,
                "industry": industry,
                "vip": vip,
                "created_at": now - timedelta(days=_DAYS + rng.uniform(1, 400)),
            }
        )
        out.ids.append(next_id)
        out.greeting.append(greeting)
        out.vip.append(vip)
        out.dept.append(dept)
        out.chinese.append(zh)
        next_id += 1
    insert_rows(session, customer, rows)
    return out


# --- creation times ------------------------------------------------------------------------------


def _creation_times(rng: random.Random, now: datetime, count: int) -> Iterator[float]:
    """`count` POSIX times over the last year, ascending, so ids and serials follow creation
    order. Recent months are busier, weekends quieter, working hours (UTC+8) busiest."""
    now_ts = now.timestamp()
    local_now = now_ts + _LOCAL_OFFSET
    today_start = local_now - local_now % _DAY - _LOCAL_OFFSET  # local midnight today, as UTC
    weights = []
    for k in range(_DAYS):  # k days ago
        day_start = today_start - k * _DAY
        weekday = datetime.fromtimestamp(day_start + _LOCAL_OFFSET, UTC).weekday()
        w = (1.0 + 0.8 * (1 - k / _DAYS)) * (0.35 if weekday >= 5 else 1.0)
        if k == 0:
            w *= max((now_ts - day_start) / _DAY, 0.01)
        weights.append(w)
    per_day = Counter(rng.choices(range(_DAYS), weights=weights, k=count))
    hour_cum = _cum(_HOUR_WEIGHTS)
    latest = now_ts - 90  # leave room for the first actions on the newest tickets
    for k in range(_DAYS - 1, -1, -1):
        n = per_day.get(k, 0)
        if not n:
            continue
        day_start = today_start - k * _DAY
        times = []
        for _ in range(n):
            t = day_start + bisect_right(hour_cum, rng.random() * hour_cum[-1]) * _HOUR + rng.random() * _HOUR
            if t > latest:
                t = day_start + rng.random() * max(latest - day_start, 1.0)
            times.append(min(t, latest))
        times.sort()
        yield from times


def _batches(items: Iterator[float], size: int) -> Iterator[list[float]]:
    batch: list[float] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- tickets -------------------------------------------------------------------------------------


class _TicketWriter:
    """Builds tickets with their tags, comments and events batch by batch and inserts them."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        now: datetime,
        team_ids: dict[str, int],
        type_keys: set[str],
        agents: list[_Agent],
        customers: _Customers,
        tag_ids: dict[str, int],
    ) -> None:
        self.session = session
        self.rng = rng
        self.now_ts = now.timestamp()
        self.team_ids = team_ids
        self.type_keys = type_keys
        self.customers = customers
        self.tag_ids = tag_ids
        self.t_ticket, self.t_tag = _table("ticket"), _table("ticket_tag")
        self.t_comment, self.t_event = _table("comment"), _table("event")
        self.bulk = BulkWriter(session)
        self.policy = sla_clocks.policy(session)
        self.first_ticket = self.next_ticket = self._max_id(self.t_ticket) + 1
        self.first_comment = self.next_comment = self._max_id(self.t_comment) + 1
        self.next_event = self._max_id(self.t_event) + 1
        self.comments = 0
        self.events = 0
        self.serials: dict[str, int] = {}  # period -> last serial used
        self.serials_loaded: set[str] = set()

        self.by_team: dict[str, list[_Agent]] = {}
        for agent in agents:
            self.by_team.setdefault(agent.team_key, []).append(agent)
        self.chinese_by_team = {k: [a for a in v if a.chinese] for k, v in self.by_team.items()}
        self.leads = {k: next((a for a in v if a.role == "lead"), v[0]) for k, v in self.by_team.items()}
        self.desk = self.by_team.get("servicedesk") or agents  # who logs calls and e-mails
        staffed = sorted(self.by_team)
        self.fallback_team = "servicedesk" if "servicedesk" in self.by_team else staffed[0]

        self.topic_cum = _cum([t.weight for t in _TOPICS])
        # Cases by (topic, Chinese?, service request?): requests for service_request tickets,
        # problems for the other types, any case where a topic has none of the kind.
        self.cases: dict[tuple[str, bool, bool], tuple[_Case, ...]] = {}
        for topic in _TOPICS:
            for zh in (False, True):
                cases = topic.cases_zh if zh else topic.cases_en
                requests = tuple(c for c in cases if c[0] in topic.requests)
                problems = tuple(c for c in cases if c[0] not in topic.requests)
                self.cases[topic.key, zh, True] = requests or cases
                self.cases[topic.key, zh, False] = problems or cases
        self.priority_cum = {t.key: _cum(t.priorities) for t in _TOPICS if t.priorities}
        self.type_priority_cum = {k: _cum(v) for k, v in _PRIORITY_BY_TYPE.items()}
        self.default_priority_cum = _cum((3, 15, 55, 27))
        self.channel_cum = _cum(_CHANNEL_WEIGHTS)
        self.status_cum = [(limit, _cum(w)) for limit, w in _STATUS_BY_AGE]
        self.level_cum = {k: _cum(v) for k, v in _LEVELS_BY_TEAM.items()}
        self.default_level_cum = _cum((60, 30, 10))
        # Ticket counts per customer follow a power law over a shuffled order.
        self.cust_order = list(range(len(customers.ids)))
        rng.shuffle(self.cust_order)
        zh = [i for i in self.cust_order if customers.chinese[i]]
        self.zh_order = zh or self.cust_order

    def _max_id(self, table: Table) -> int:
        return int(self.session.execute(select(func.max(table.c.id))).scalar_one() or 0)

    # -- numbering --

    def _next_number(self, created: datetime) -> str:
        period = numbering.period_of(created)
        if period not in self.serials_loaded:
            self.serials[period] = self._existing_serial(period)
            self.serials_loaded.add(period)
        self.serials[period] += 1
        return numbering.format_number(period, self.serials[period])

    def _existing_serial(self, period: str) -> int:
        """The highest serial already used in `period`, by the counter or by ticket numbers."""
        counter = _table("ticket_counter")
        counted = self.session.execute(select(counter.c.last_serial).where(counter.c.period == period)).scalar()
        t = self.t_ticket
        next_period = str(int(period) + 1)  # '202612' < every '202612xxx' < '202613'
        used = self.session.execute(
            select(func.max(cast(func.substr(t.c.number, len(period) + 1), Integer))).where(
                t.c.number > period, t.c.number < next_period
            )
        ).scalar()
        return max(counted or 0, used or 0)

    def save_counters(self) -> None:
        counter = _table("ticket_counter")
        for period, serial in sorted(self.serials.items()):
            current = self.session.execute(select(counter.c.last_serial).where(counter.c.period == period)).scalar()
            if current is None:
                self.session.execute(insert(counter).values(period=period, last_serial=serial))
            elif current < serial:
                self.session.execute(update(counter).where(counter.c.period == period).values(last_serial=serial))

    # -- one batch --

    def write(self, times: list[float]) -> None:
        tickets: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        comments: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for created_ts in times:
            self._ticket(created_ts, tickets, tags, comments, events)
        self.bulk.insert(self.t_ticket, _TICKET_COLUMNS, tickets)
        self.bulk.insert(self.t_tag, _TICKET_TAG_COLUMNS, tags)
        self.bulk.insert(self.t_comment, _COMMENT_COLUMNS, comments)
        self.bulk.insert(self.t_event, _EVENT_COLUMNS, events)
        self.comments += len(comments)
        self.events += len(events)

    def _ticket(
        self,
        created_ts: float,
        tickets: list[tuple[Any, ...]],
        tag_rows: list[tuple[Any, ...]],
        comment_rows: list[tuple[Any, ...]],
        event_rows: list[tuple[Any, ...]],
    ) -> None:
        rng = self.rng
        rnd = rng.random
        choice = rng.choice
        cust = self.customers
        age = self.now_ts - created_ts

        # About 10% of the tickets are written in Chinese, by customers of Chinese organisations.
        zh = rnd() < 0.10
        order = self.zh_order if zh else self.cust_order
        ci = order[int(len(order) * rnd() ** 1.6)]  # a few customers file many tickets
        zh = zh and cust.chinese[ci]
        vip = cust.vip[ci]
        topic = _TOPICS[bisect_right(self.topic_cum, rnd() * self.topic_cum[-1])]
        ticket_type = self._weighted_key(topic.types, self.type_keys) or choice(sorted(self.type_keys))
        incident = ticket_type == "incident"
        pcum = self.priority_cum.get(topic.key) or self.type_priority_cum.get(ticket_type, self.default_priority_cum)
        priority = _PRIORITIES[bisect_right(pcum, rnd() * pcum[-1])]
        if vip and priority == "P3" and rnd() < 0.5:
            priority = "P2"
        channel = _CHANNELS[bisect_right(self.channel_cum, rnd() * self.channel_cum[-1])]
        team_key = self._weighted_key(topic.teams, self.by_team.keys()) or self.fallback_team
        lcum = self.level_cum.get(team_key, self.default_level_cum)
        level = _LEVELS[bisect_right(lcum, rnd() * lcum[-1])]
        status = "closed"
        for limit, scum in self.status_cum:
            if age < limit * _DAY:
                status = _STATUSES[bisect_right(scum, rnd() * scum[-1])]
                break
        team_agents = self.by_team[team_key]
        if zh and self.chinese_by_team[team_key] and rnd() < 0.8:
            team_agents = self.chinese_by_team[team_key]
        assignee = None if status == "new" else choice(team_agents)
        worker = assignee or choice(self.desk)  # who handles it; for new tickets, who triages
        lead = self.leads[team_key]
        creator = choice(self.desk)

        case = choice(self.cases[topic.key, zh, ticket_type == "service_request"])
        subject_t, symptom_t, errors, resolution_t = case
        created = datetime.fromtimestamp(created_ts, UTC)
        noticed = datetime.fromtimestamp(created_ts + _LOCAL_OFFSET - rng.uniform(300, 7200), UTC)
        slots = _Slots(
            rng,
            {
                "first": cust.greeting[ci],
                "agent": worker.name_zh if zh else worker.name_en,
                "hhmm": f"{noticed.hour:02d}:{noticed.minute:02d}",
                "error": choice(errors) if errors else "",
            },
        )
        dept = cust.dept[ci]
        if dept is not None and zh == cust.chinese[ci]:  # the customer's own department, in its language
            slots["dept_zh" if zh else "dept"] = dept
        subject = subject_t.format_map(slots)
        subject = subject[:1].upper() + subject[1:]  # "{app} down" may start with "the ERP"
        resolution_text = resolution_t.format_map(slots)
        slots["resolution"] = resolution_text
        slots["resolution_lc"] = resolution_text[:1].lower() + resolution_text[1:]
        description = self._description(symptom_t, zh, ticket_type, priority, channel, bool(errors), slots)

        # Tags: 0-3, mostly from the topic; VIP customers usually carry `vip`.
        wanted = (0, 1, 1, 1, 2, 2, 2, 3)[int(rnd() * 8)]
        names: list[str] = []
        if vip and rnd() < 0.8:
            names.append("vip")
        pool = list(topic.tags) + (list(topic.zh_tags) if zh else [])
        while len(names) < wanted and pool:
            names.append(pool.pop(int(rnd() * len(pool))))
        if len(names) < wanted and rnd() < 0.5:
            names.append(choice(_GENERAL_TAGS))
        names = list(dict.fromkeys(names))[:3]

        clocks = due_dates(self.policy, priority=Priority(priority), team=team_key, vip=vip, created_at=created)
        first_due, resolution_due = clocks.first_response_due, clocks.resolution_due
        fr_target = (first_due - created).total_seconds()
        res_target = (resolution_due - created).total_seconds()
        plan = self._timeline(status, fr_target, res_target, age, incident=incident, vip=vip)

        tid = self.next_ticket
        self.next_ticket += 1
        number = self._next_number(created)
        dt = self.bulk.bind_datetime
        created_v = dt(created)
        event_rows.append(self._event(tid, creator.id, created_v, "created", "number", None, number, 1))
        for name in names:
            tag_rows.append((tid, self.tag_ids[name]))
            event_rows.append(self._event(tid, creator.id, created_v, "tagged", "tag", None, name, 1))

        # Replay the plan. Every action is one change of the ticket, so it bumps the version
        # and its events carry the new version, as the store's own operations do.
        initial_priority = priority
        if any(act == "prio" for _, act in plan):
            # The priority changed on the way: start from a neighbour of the final one.
            idx = _PRIORITIES.index(priority)
            initial_priority = _PRIORITIES[idx + 1] if idx < 3 and (idx == 0 or rnd() < 0.7) else _PRIORITIES[idx - 1]
        current = "new"
        status_changed = at = created_v
        first_responded: Any = None
        resolved: Any = None
        closed: Any = None
        resolution: str | None = None
        reopen_count = 0
        version = 1
        for offset, act in plan:
            version += 1
            at = dt(datetime.fromtimestamp(created_ts + offset, UTC))
            if act == "assign":
                actor = lead if rnd() < 0.5 else worker  # dispatched by the lead, or taken
                event_rows.append(self._event(tid, actor.id, at, "changed", "assignee", None, worker.login, version))
                event_rows.append(self._event(tid, actor.id, at, "changed", "status", current, "open", version))
                current, status_changed = "open", at
            elif act == "prio":
                event_rows.append(
                    self._event(tid, lead.id, at, "changed", "priority", initial_priority, priority, version)
                )
            elif act in ("cust", "cust_chase", "cust_reopen"):
                body = self._customer_comment(act, zh, incident, slots)
                # Written by the customer; logged by the agent who received the mail or call.
                comment_rows.append(self._comment(tid, "public", None, cust.ids[ci], body, at))
                event_rows.append(self._event(tid, worker.id, at, "commented", "comment", None, "public", version))
            elif act in _AGENT_COMMENTS:
                body, kind = self._agent_comment(act, zh, incident, bool(errors), slots)
                comment_rows.append(self._comment(tid, kind, worker.id, None, body, at))
                event_rows.append(self._event(tid, worker.id, at, "commented", "comment", None, kind, version))
                if kind == "public" and first_responded is None:
                    first_responded = at
            else:  # a status change
                target = "open" if act == "reopen" else act
                actor = lead if act == "closed" and priority == "P0" else worker  # only leads close P0s
                event_rows.append(self._event(tid, actor.id, at, "changed", "status", current, target, version))
                if act == "reopen":
                    resolved = closed = None
                    reopen_count += 1
                elif act == "resolved":
                    resolved = at
                    resolution = resolution_text
                elif act == "closed":
                    closed = at
                    resolved = resolved or at
                    resolution = resolution_text
                current, status_changed = target, at

        expected_at = None
        if ticket_type == "service_request" and rnd() < 0.25:
            expected_at = dt(datetime.fromtimestamp(created_ts + rng.uniform(2, 14) * _DAY, UTC))
        tickets.append(
            (
                tid, number, subject, description, ticket_type, topic.category if rnd() < 0.75 else None,
                priority, current, channel, cust.ids[ci], self.team_ids[team_key],
                assignee.id if assignee else None, level, resolution, None, reopen_count,
                dt(first_due), dt(resolution_due), expected_at, created_v, at, status_changed,
                first_responded, resolved, closed, version,
                status_changed if current in ("pending", "on_hold") else None,  # SLA clocks paused since
            )
        )  # fmt: skip

    def _weighted_key(self, options: tuple[tuple[str, float], ...], allowed: Any) -> str | None:
        usable = [(k, w) for k, w in options if k in allowed]
        if not usable:
            return None
        pick = self.rng.random() * sum(w for _, w in usable)
        for key, weight in usable:
            pick -= weight
            if pick < 0:
                return key
        return usable[-1][0]

    def _description(
        self, symptom: str, zh: bool, ticket_type: str, priority: str, channel: str, has_error: bool, slots: _Slots
    ) -> str:
        """A few sentences: the symptom, then (by type) since when, what was tried, the error
        text and the impact; phone and walk-in tickets are written down by the agent."""
        rnd, choice = self.rng.random, self.rng.choice
        urgent = priority in ("P0", "P1")
        parts = [symptom]
        if ticket_type == "incident":
            if rnd() < 0.8:
                parts.append(choice(_WHEN_ZH if zh else _WHEN_EN))
            if rnd() < 0.6:
                parts.append(choice(_STEPS_ZH if zh else _STEPS_EN))
            if has_error and rnd() < 0.75:
                parts.append("报错信息：“{error}”。" if zh else '\n\nThe error message says: "{error}"\n\n')
            if rnd() < 0.75 or urgent:
                impacts = (_URGENT_ZH if zh else _URGENT_EN) if urgent else (_MILD_ZH if zh else _MILD_EN)
                parts.append(choice(impacts))
        elif ticket_type == "service_request":
            if rnd() < 0.6:
                parts.append(choice(_REQUEST_ZH if zh else _REQUEST_EN))
        elif rnd() < 0.6:
            parts.append(choice(_ASK_ZH if zh else _ASK_EN))
        if zh:
            body = "".join(parts)
            if channel == "phone":
                body = "客户来电反映：" + body
            elif channel == "walk_in":
                body = "客户到服务台反映：" + body
            elif rnd() < 0.4:
                body = "你好，" + body + "\n\n谢谢！"
        else:
            body = " ".join(parts).replace(" \n\n", "\n\n").replace("\n\n ", "\n\n").strip()
            if channel == "phone":
                body = "Caller reports: " + body
            elif channel == "walk_in":
                body = "Customer came to the desk: " + body
            elif channel in ("email", "web") and rnd() < 0.5:
                body = "Hi support,\n\n" + body + "\n\nThanks,\n{first}"
        return body.format_map(slots)

    def _agent_comment(self, act: str, zh: bool, incident: bool, has_error: bool, slots: _Slots) -> tuple[str, str]:
        """(body, kind) of an agent's comment."""
        rng = self.rng
        if act == "reply":
            if zh:
                general, special = _FIRST_REPLY_ZH, _FIRST_REPLY_INCIDENT_ZH
            else:
                general, special = _FIRST_REPLY_EN, _FIRST_REPLY_INCIDENT_EN
            pool = general + special if incident else general
            return rng.choice(pool).format_map(slots), "public"
        if act == "answer":
            return rng.choice(_ANSWER_ZH if zh else _ANSWER_EN).format_map(slots), "public"
        if act == "hold_note":
            return rng.choice(_HOLD_NOTE_ZH if zh else _HOLD_NOTE_EN).format_map(slots), "internal"
        if act == "vip_note":
            return (_VIP_NOTE_ZH if zh else _VIP_NOTE_EN), "internal"
        general, special = (_NOTE_ZH, _NOTE_INCIDENT_ZH) if zh else (_NOTE_EN, _NOTE_INCIDENT_EN)
        # The log note (the first incident note) quotes the error text: only for tickets with one.
        pool = general + (special if has_error else special[1:]) if incident else general
        return rng.choice(pool).format_map(slots), "internal"

    def _customer_comment(self, act: str, zh: bool, incident: bool, slots: _Slots) -> str:
        if act == "cust_reopen":
            return self.rng.choice(_REOPEN_ZH if zh else _REOPEN_EN)
        if act == "cust_chase":  # on a ticket nobody has answered yet
            return self.rng.choice(_CHASE_ZH if zh else _CHASE_EN)
        if zh:
            pool = _CUSTOMER_INCIDENT_ZH if incident else _CUSTOMER_ZH
        else:
            pool = _CUSTOMER_INCIDENT_EN if incident else _CUSTOMER_EN
        return self.rng.choice(pool).format_map(slots)

    def _timeline(
        self, status: str, fr: float, res: float, age: float, *, incident: bool, vip: bool
    ) -> list[tuple[float, str]]:
        """The actions after creation, as (seconds after creation, action), ending in `status`.

        Each action is one change of the ticket (one version); 1-4 of them are comments.
        Delays are drawn around the SLA targets, so some tickets breach; everything is
        squeezed into the ticket's age when it would run past now.
        """
        rnd, uniform = self.rng.random, self.rng.uniform
        note = "vip_note" if vip and rnd() < 0.5 else "note"
        if status == "new":
            acts = ["cust_chase"] if rnd() < 0.6 else [note]
            if rnd() < 0.25:
                acts.append(note if acts[0] == "cust_chase" else "cust_chase")
            return self._fit([age * x for x in sorted(uniform(0.05, 0.9) for _ in acts)], acts, age)

        comments = 1  # the first reply
        mid: list[str] = []
        if rnd() < 0.08:
            mid.append("prio")
        tail: list[str] = []
        if status == "open":
            if rnd() < 0.4:
                mid.append("cust")
        elif status in ("in_progress", "pending", "on_hold"):
            mid.append("in_progress")
            if status == "on_hold":
                mid += ["hold_note", "on_hold"]
            else:
                if rnd() < 0.35:
                    mid.append(note)
                if status == "pending":  # waiting for the customer to confirm or answer
                    mid += ["answer", "pending"] if rnd() < 0.5 else ["pending"]
        else:  # resolved or closed
            mid.append("in_progress")
            if rnd() < 0.3:
                mid += ["pending", "cust", "in_progress"]
                comments += 1
            if rnd() < 0.3:
                mid.append(note)
                comments += 1
            if rnd() < 0.5:
                mid.append("answer")
                comments += 1
            direct_close = status == "closed" and rnd() < 0.2
            mid.append("closed" if direct_close else "resolved")
            if incident and not direct_close and comments < 4 and rnd() < 0.05:
                tail = ["cust_reopen", "reopen", "in_progress", "resolved"]
            if status == "closed" and not direct_close:
                tail.append("closed")

        o_assign = max(30.0, fr * uniform(0.02, 0.6))
        o_reply = fr * (uniform(0.1, 0.95) if rnd() < 0.88 else uniform(1.05, 3.0))
        o_reply = max(o_reply, o_assign + uniform(60, 600))
        offsets = [o_assign, o_reply]
        if mid:
            if status in ("resolved", "closed"):
                end = res * (uniform(0.15, 0.95) if rnd() < 0.82 else uniform(1.05, 3.5))
                end = max(end, o_reply + 600 * len(mid))
            else:
                end = o_reply + max(age - o_reply, 600) * uniform(0.05, 0.95)
            offsets += sorted(uniform(o_reply, end) for _ in mid[:-1])
            offsets.append(end)
        t = offsets[-1]
        for act in tail:
            if act == "cust_reopen":
                t += uniform(0.3, 3) * _DAY
            elif act == "reopen":
                t += uniform(300, 2 * _HOUR)
            elif act == "in_progress":
                t += uniform(600, _DAY)
            elif act == "resolved":
                t += uniform(_HOUR, 2 * _DAY)
            else:  # closed: confirmed by the customer, or closed automatically after some days
                t += uniform(_HOUR, _DAY) if rnd() < 0.3 else uniform(2, 7) * _DAY
            offsets.append(t)
        return self._fit(offsets, ["assign", "reply", *mid, *tail], age)

    @staticmethod
    def _fit(offsets: list[float], acts: list[str], age: float) -> list[tuple[float, str]]:
        """Scale offsets into the ticket's age and keep them at least a second apart."""
        limit = age - 30 - len(offsets)
        if offsets and offsets[-1] > limit:
            factor = max(limit, 1.0) / offsets[-1]
            offsets = [o * factor for o in offsets]
        fitted: list[tuple[float, str]] = []
        last = 0.0
        for offset, act in zip(offsets, acts, strict=True):
            last = max(offset, last + 1.0)
            fitted.append((last, act))
        return fitted

    def _comment(
        self, tid: int, kind: str, author: int | None, customer: int | None, body: str, at: Any
    ) -> tuple[Any, ...]:
        cid = self.next_comment
        self.next_comment += 1
        return (cid, tid, kind, author, customer, body, at)

    def _event(
        self,
        tid: int,
        actor: int,
        at: Any,
        kind: str,
        field: str,
        old: str | None,
        new: str | None,
        version: int,
    ) -> tuple[Any, ...]:
        eid = self.next_event
        self.next_event += 1
        return (eid, tid, actor, at, kind, field, old, new, version)
