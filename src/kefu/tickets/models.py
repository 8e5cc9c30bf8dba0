"""Tickets 工单: configuration tables (types, channels, priorities, service modes, SLA policies)
and the ticket with its stored, indexed SLA deadlines."""

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, Skill
from kefu.core.compiled import insert_new
from kefu.core.history import history_records
from kefu.core.models import TimelineEvent
from kefu.customers.models import Asset, Contact, Customer


class CodedName(models.Model):
    """A row of configuration data: a stable code for programs, a name for people."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        abstract = True
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name


class TicketType(CodedName):
    """咨询, 故障报修, 账号与权限, 服务投诉, 建议, 订单与售后, 安装, 新客户 … (B3)."""

    is_technical = models.BooleanField(
        _("技术类"), default=False, help_text=_("技术类问题按技术故障的解决时效计算"),
    )
    default_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("默认处理部门"),
    )
    required_skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("所需技能"), help_text=_("自动派单只派给具备此技能的员工"),
    )

    class Meta(CodedName.Meta):
        verbose_name = _("工单类型")
        verbose_name_plural = _("工单类型")


class Channel(CodedName):
    """电话, 在线客服, 邮件, APP, 微信, 到店 (B1)."""

    class Meta(CodedName.Meta):
        verbose_name = _("受理渠道")
        verbose_name_plural = _("受理渠道")


class Priority(CodedName):
    """紧急 / 普通 / 低 (B4). ``rank``: lower is more urgent; a chase moves one rank up."""

    rank = models.PositiveSmallIntegerField(_("级别"), unique=True)

    class Meta(CodedName.Meta):
        verbose_name = _("优先级")
        verbose_name_plural = _("优先级")
        ordering = ["rank"]


class ServiceMode(CodedName):
    """电话解答, 远程协助, 上门服务, 送修, 邮寄维修, 有偿服务 (B12)."""

    class Meta(CodedName.Meta):
        verbose_name = _("服务方式")
        verbose_name_plural = _("服务方式")


class SlaPolicy(models.Model):
    """Response and resolution targets for priority × technical/non-technical × customer kind.

    The most specific active policy wins (a kind-specific one over the any-kind one). A target is
    an amount and a unit; minutes and hours run on the working calendar or on the natural clock
    (``clock``), working days always on the calendar.
    """

    class Unit(models.TextChoices):
        MINUTES = "minutes", _("分钟")
        HOURS = "hours", _("小时")
        WORKING_DAYS = "working_days", _("工作日")

    class Clock(models.TextChoices):
        WORKING = "working", _("工作时间")
        NATURAL = "natural", _("自然时间")

    name = models.CharField(_("名称"), max_length=64)
    priority = models.ForeignKey(Priority, on_delete=models.PROTECT, verbose_name=_("优先级"))
    technical = models.BooleanField(_("技术类"), null=True, blank=True, help_text=_("留空表示不限"))
    customer_kind = models.CharField(
        _("客户类别"), max_length=16, blank=True, default="", choices=Customer.Kind.choices,
        help_text=_("留空表示所有客户"),
    )
    response_amount = models.PositiveIntegerField(_("响应时限"))
    response_unit = models.CharField(_("响应单位"), max_length=16, choices=Unit.choices)
    resolve_amount = models.PositiveIntegerField(_("解决时限"))
    resolve_unit = models.CharField(_("解决单位"), max_length=16, choices=Unit.choices)
    clock = models.CharField(_("计时方式"), max_length=16, choices=Clock.choices, default=Clock.WORKING)
    warn_ratio = models.DecimalField(
        _("预警比例"), max_digits=3, decimal_places=2, default=0.8,
        help_text=_("已用时间达到时限的这个比例时预警，如 0.80"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("SLA 时效规则")
        verbose_name_plural = _("SLA 时效规则")
        ordering = ["priority__rank", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(warn_ratio__gt=0) & Q(warn_ratio__lt=1), name="sla_warn_ratio_between_0_1"
            ),
            models.CheckConstraint(
                condition=Q(response_amount__gt=0) & Q(resolve_amount__gt=0), name="sla_targets_positive"
            ),
        ]

    def __str__(self):
        return self.name


# The statuses of the partial indexes, in the order their conditions list them (Ticket's
# OPEN_STATUSES and RUNNING_STATUSES are these).
OPEN_INDEX_STATUSES = ("new", "unassigned", "in_progress", "on_hold")  # ticket_open_resolve_due
RUNNING_INDEX_STATUSES = ("new", "unassigned", "in_progress")  # ticket_warn_ / _breach_pending
POOL_INDEX_STATUSES = ("new", "unassigned")  # ticket_pool_due
ON_HOLD_INDEX_STATUSES = ("on_hold",)  # ticket_on_hold_due


class IndexTerm(In):
    """``field IN ('a', 'b', …)`` written with literals on SQLite, and nothing elsewhere.

    SQLite reads a partial index only when the query repeats the index's WHERE term word for
    word, and a bound parameter does not count: at a million tickets the overdue queue walked
    the all-tickets deadline index past closed tickets (33 ms) instead of the open ones' (0.2 ms).
    Every query that adds one already asks for a subset of these values, so it changes no
    result; PostgreSQL proves the implication itself, and a repeated term would only skew its
    row estimates. The values are constants of this module, never user input."""

    def __init__(self, field, values):
        super().__init__(models.F(field), list(values))

    def as_sql(self, compiler, connection):
        return "1 = 1", []

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(repr(v) for v in self.rhs)})", params


def OpenIndexTerm():  # noqa: N802  (reads as the term it is)
    return IndexTerm("status", OPEN_INDEX_STATUSES)


def RunningIndexTerm():  # noqa: N802
    return IndexTerm("status", RUNNING_INDEX_STATUSES)


def PoolIndexTerm():  # noqa: N802
    return IndexTerm("status", POOL_INDEX_STATUSES)


def OnHoldIndexTerm():  # noqa: N802
    return IndexTerm("status", ON_HOLD_INDEX_STATUSES)


class TicketScope:
    """The tickets a limited user may see: their own (owner or taken in by them), and those in
    their department (or none) and of customers in their regions, when they have either.

    One rule in two forms: ``q()`` for the database, ``admits(row)`` for a row of
    ``columns()`` already read (the event feed, which reads tickets by primary key and does not
    make the database plan an OR over four columns)."""

    def __init__(self, user_id, department_id=None, region_ids=()):
        self.user_id, self.department_id = user_id, department_id
        self.region_ids = frozenset(region_ids)

    @property
    def own_only(self):
        return self.department_id is None and not self.region_ids

    def q(self):
        own = Q(owner_id=self.user_id) | Q(created_by_id=self.user_id)
        if self.own_only:
            return own
        scope = Q()
        if self.department_id is not None:
            scope &= Q(department_id=self.department_id) | Q(department__isnull=True)
        if self.region_ids:
            scope &= Q(customer__region_id__in=sorted(self.region_ids))
        return own | scope

    def columns(self):
        """The ticket values ``admits`` reads, the pk first (the customer's region, a join,
        only when regions limit the scope)."""
        return ("pk", "owner_id", "created_by_id", "department_id") + (
            ("customer__region_id",) if self.region_ids else ())

    def admits(self, row):
        """Whether a ticket, as its ``columns()`` values, is in the scope."""
        _, owner_id, created_by_id, department_id, *region = row
        if self.user_id in (owner_id, created_by_id):
            return True
        return not self.own_only and (
            self.department_id is None or department_id in (None, self.department_id)
        ) and (not self.region_ids or region[0] in self.region_ids)


def ticket_scope(user):
    """The tickets ``user`` may see: a TicketScope; None for every ticket, False for none.

    Unscoped staff see all; a department on the staff profile limits them to that department's
    tickets (and those with none), regions to customers of those regions; their own and the
    ones they took in are always visible; users without a staff profile see only those.
    ``visible_to`` and the event feed (``queries.event_feed``) both read it."""
    if not user.is_authenticated or not user.has_perm("tickets.view_ticket"):
        return False
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return None
    profile = getattr(user, "staff", None)
    if profile is None:
        return TicketScope(user.pk)
    from kefu.accounts import backends

    region_ids = backends.region_ids(user)  # cached per process, keyed by the access version
    if not profile.department_id and not region_ids:
        return None  # neither a department nor regions: unscoped
    return TicketScope(user.pk, profile.department_id, region_ids)


class TicketQuerySet(models.QuerySet):
    """The queues agents work from, each in deadline order (nearest first)."""

    def visible_to(self, user):
        """Tickets the user may see (``ticket_scope``)."""
        scope = ticket_scope(user)
        if scope is False:
            return self.none()
        return self if scope is None else self.filter(scope.q())

    def open(self):
        return self.filter(status__in=Ticket.OPEN_STATUSES)

    def running(self):
        """Open and with the SLA clock running (not on hold)."""
        return self.filter(OpenIndexTerm(), status__in=Ticket.RUNNING_STATUSES)

    def mine(self, user):
        # ticket_mine_due: my open tickets in deadline order, 26 index entries for a page.
        return self.open().filter(OpenIndexTerm(), owner=user)

    def pool(self):
        # ticket_pool_due: the unassigned new tickets in deadline order.
        return self.filter(PoolIndexTerm(), status__in=POOL_INDEX_STATUSES, owner__isnull=True)

    def overdue(self, now):
        return self.running().filter(resolve_due_at__lte=now)

    def due_soon(self, now, within):
        return self.running().filter(resolve_due_at__gt=now, resolve_due_at__lte=now + within)

    def on_hold(self):
        return self.filter(OnHoldIndexTerm(), status=Ticket.Status.ON_HOLD)

    def awaiting_confirmation(self):
        return self.filter(status=Ticket.Status.RESOLVED)

    def major(self):
        """重大问题清单 (B8): open tickets flagged major or batch, nearest deadline first."""
        return self.open().filter(OpenIndexTerm(), is_major=True).by_deadline()  # ticket_major_due

    def by_deadline(self):
        return self.order_by(models.F("resolve_due_at").asc(nulls_last=True), "id")


_STATUS_LABELS = {}  # status value -> lazy label, filled below the Ticket class


# The columns queue filters and the department scope read, after the deadline in the queue
# indexes: SQLite checks them in the index before reading the row, PostgreSQL as index
# conditions. With the owner and the taker-in, a department agent's tab counts are read from
# the indexes alone (SQLite at 1M: 60 -> 22 ms).
QUEUE_FILTER_COLUMNS = ["status", "ticket_type", "priority", "department", "owner", "created_by"]


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("新建")
        UNASSIGNED = "unassigned", _("待派单")
        IN_PROGRESS = "in_progress", _("处理中")
        ON_HOLD = "on_hold", _("挂起")
        RESOLVED = "resolved", _("已解决")
        AWAITING_CALLBACK = "awaiting_callback", _("待回访")
        CLOSED = "closed", _("已关闭")

    class Compensation(models.TextChoices):
        NONE = "", _("无补偿")
        MEMBERSHIP = "membership", _("延长会员期限")
        SERVICE = "service", _("赠送服务权益")
        COUPON = "coupon", _("优惠券/代金券")
        REFUND = "refund", _("退款")
        GIFT = "gift", _("礼品")
        OTHER = "other", _("其他")

    OPEN_STATUSES = OPEN_INDEX_STATUSES  # new, unassigned, in progress, on hold
    RUNNING_STATUSES = RUNNING_INDEX_STATUSES  # open with the SLA clock running (not on hold)

    number = models.CharField(_("工单编号"), max_length=32, unique=True)
    # No single-column index on these keys (db_index=False): every index is written on each
    # intake. The customer's and the owner's tickets are found through ticket_customer_history
    # and ticket_owner_queue, which begin with them; nothing looks tickets up by channel, type,
    # priority, service mode or SLA policy alone (the queue filters are in the deadline
    # indexes), nor by hand-off engineer. Deleting such a row (refused while tickets use it)
    # reads the whole table: an administrator's rare action. Dropping the eight made an intake
    # with random customers 13 % faster at one million tickets on SQLite.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("客户"),
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("联系人"),
    )
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets",
        verbose_name=_("设备"),
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, verbose_name=_("受理渠道"),
                                db_index=False)
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, verbose_name=_("工单类型"),
                                    db_index=False)
    priority = models.ForeignKey(Priority, on_delete=models.PROTECT, verbose_name=_("优先级"),
                                 db_index=False)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("处理部门"),
    )
    service_mode = models.ForeignKey(
        ServiceMode, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("服务方式"),
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="owned_tickets", verbose_name=_("处理人"), db_index=False,
    )
    subject = models.CharField(_("问题摘要"), max_length=200)
    description = models.TextField(_("问题描述"), blank=True, default="")
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    environment = models.CharField(_("使用环境"), max_length=200, blank=True, default="")
    error_shown = models.CharField(_("错误提示"), max_length=500, blank=True, default="")
    in_warranty = models.BooleanField(_("保修期内"), null=True, blank=True)
    customer_expects_at = models.DateTimeField(_("客户期望解决时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.NEW)
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("SLA 规则"),
        db_index=False,
    )
    response_due_at = models.DateTimeField(_("响应截止"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("解决截止"), null=True, blank=True)
    resolve_warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    sla_warned_at = models.DateTimeField(_("已预警"), null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("已超时"), null=True, blank=True)
    response_breached_at = models.DateTimeField(_("响应已超时"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    on_hold_since = models.DateTimeField(_("挂起开始"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("累计挂起秒数"), default=0)
    escalation_tier = models.PositiveSmallIntegerField(_("升级层级"), default=1)
    is_major = models.BooleanField(
        _("重大问题"), default=False, help_text=_("重大问题（含批量故障），列入重大问题清单跟踪"),
    )
    linked_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups",
        verbose_name=_("关联工单"), help_text=_("超过重开期限后新建的工单指向原工单"),
    )
    handoff_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("转交热线工程师"), db_index=False,
    )
    handoff_due_at = models.DateTimeField(_("转交截止"), null=True, blank=True)
    handoff_breached_at = models.DateTimeField(_("转交已超时"), null=True, blank=True)
    solution = models.TextField(_("解决方案"), blank=True, default="")
    result = models.CharField(_("处理结果"), max_length=200, blank=True, default="")
    compensation_kind = models.CharField(
        _("补偿方式"), max_length=16, choices=Compensation.choices, blank=True, default="",
    )
    compensation_amount = models.DecimalField(
        _("补偿金额（元）"), max_digits=10, decimal_places=2, null=True, blank=True,
    )
    confirmed_at = models.DateTimeField(_("客户确认时间"), null=True, blank=True)
    chase_count = models.PositiveIntegerField(_("催单次数"), default=0)
    reopen_count = models.PositiveIntegerField(_("重开次数"), default=0)
    created_at = models.DateTimeField(_("受理时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("受理人"),
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    history = history_records(excluded_fields=["updated_at"])

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-id"]
        permissions = [
            ("assign_ticket", _("派单/转派工单")),
            ("claim_ticket", _("抢单")),
            ("view_all_tickets", _("查看所有部门和片区的工单")),
        ]
        indexes = [
            # Queues read open tickets in deadline order: partial indexes keep them index scans
            # however many closed tickets pile up. They also hold the columns a queue is
            # filtered and scoped by (QUEUE_FILTER_COLUMNS), so a filter that matches few of
            # the queue's tickets is checked in the index, not by reading each row: 已超时 +
            # type + priority matching nothing read all 9,000 overdue rows at 1M (50 ms).
            models.Index(
                fields=["resolve_due_at", "id", *QUEUE_FILTER_COLUMNS], name="ticket_open_resolve_due",
                condition=Q(status__in=list(OPEN_INDEX_STATUSES)),
            ),
            # All tickets in deadline order (the API's default list), and 待确认 (resolved,
            # awaiting the customer): found missing by the query-plan test.
            models.Index(fields=["resolve_due_at", "id"], name="ticket_resolve_due"),
            models.Index(
                fields=["resolve_due_at", "id", *QUEUE_FILTER_COLUMNS], name="ticket_awaiting_due",
                condition=Q(status="resolved"),
            ),
            models.Index(
                # Running tickets not yet answered nor marked: closed tickets that never got a
                # first response left the old index (first_responded_at IS NULL) 100,000 entries
                # long at a million tickets, and SQLite's monitor pass read them all (174 ms).
                fields=["response_due_at", "id"], name="ticket_unanswered_due",
                condition=Q(first_responded_at__isnull=True, response_breached_at__isnull=True,
                            status__in=list(RUNNING_INDEX_STATUSES)),
            ),
            models.Index(
                fields=["resolve_warn_at"], name="ticket_warn_pending",
                condition=Q(sla_warned_at__isnull=True, status__in=list(RUNNING_INDEX_STATUSES)),
            ),
            models.Index(
                fields=["resolve_due_at"], name="ticket_breach_pending",
                condition=Q(sla_breached_at__isnull=True, status__in=list(RUNNING_INDEX_STATUSES)),
            ),
            models.Index(
                fields=["handoff_due_at"], name="ticket_handoff_pending",
                condition=Q(handoff_due_at__isnull=False, handoff_breached_at__isnull=True),
            ),
            models.Index(fields=["owner", "status", "resolve_due_at"], name="ticket_owner_queue"),
            # 我的工单 and 待抢单 in deadline order: with the statuses as a list, the two indexes
            # above gave the rows but not their order, so PostgreSQL walked every open ticket's
            # deadline filtering on the owner (14 ms at 1M) or fetched and sorted the whole pool.
            models.Index(
                fields=["owner", "resolve_due_at", "id", *QUEUE_FILTER_COLUMNS[:-2]], name="ticket_mine_due",
                condition=Q(status__in=list(OPEN_INDEX_STATUSES)),
            ),
            models.Index(
                fields=["resolve_due_at", "id", *QUEUE_FILTER_COLUMNS], name="ticket_pool_due",
                condition=Q(owner__isnull=True, status__in=list(POOL_INDEX_STATUSES)),
            ),
            # 挂起 and 重大问题: small sets that walked the open tickets' index (15–20 ms a count
            # at 1M; the major list 43 ms on SQLite).
            models.Index(
                fields=["resolve_due_at", "id", *QUEUE_FILTER_COLUMNS], name="ticket_on_hold_due",
                condition=Q(status__in=list(ON_HOLD_INDEX_STATUSES)),
            ),
            models.Index(
                fields=["resolve_due_at", "id", *QUEUE_FILTER_COLUMNS], name="ticket_major_due",
                condition=Q(is_major=True, status__in=list(OPEN_INDEX_STATUSES)),
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_history"),
            # 周复盘 (review.py) reads one or two weeks by intake time and by resolution time:
            # without these its queries read the whole table (10 s for the page on SQLite and
            # 1.2 s on PostgreSQL at one million tickets). Both keys grow with time, so each new
            # entry goes to the end of its index.
            models.Index(fields=["created_at", "id"], name="ticket_created"),
            models.Index(fields=["resolved_at"], name="ticket_resolved"),
        ]

    def __str__(self):
        return f"{self.number} {self.subject}"

    def save(self, *args, **kwargs):
        """Saves, and keeps the daily counts (``TicketStat``) in step with intake, status and
        type, in the same transaction."""
        from kefu.tickets import stats

        with transaction.atomic(savepoint=False):
            adding = self._state.adding
            # A new ticket: one INSERT built once per process, not ~50 columns compiled per
            # intake (kefu.core.compiled); any other save the ORM's way.
            if not (adding and not args and set(kwargs) <= {"using"}
                    and insert_new(self, using=kwargs.get("using"))):
                super().save(*args, **kwargs)
            key = (self.status, self.ticket_type_id)
            day = stats.local_day(self.created_at)
            if adding:
                stats.bump(day, self.ticket_type_id, self.status, +1)
            else:
                old = getattr(self, "_stat_key", key)
                if None not in old and old != key:
                    stats.move(day, self.ticket_type_id, self.status, old_status=old[0],
                               old_type_id=old[1])
            self._stat_key = key

    @classmethod
    def from_db(cls, db, field_names, values):
        ticket = super().from_db(db, field_names, values)
        ticket._stat_key = (ticket.__dict__.get("status"), ticket.__dict__.get("ticket_type_id"))
        return ticket

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES

    def get_status_display(self):
        """The status's label in the active language. Django's own builds a dict of every choice
        (hashing each lazy label) on each call: about 0.2 ms, 25 times per list page."""
        return str(_STATUS_LABELS.get(self.status, self.status))


_STATUS_LABELS.update(Ticket.Status.choices)


class TicketEvent(TimelineEvent):
    """工单动态: every change and progress note; customer-visible ones form 客户同步记录 (B7)."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("工单")
    )
    customer_visible = models.BooleanField(_("已同步客户"), default=False)
    expected_completion_at = models.DateTimeField(_("预计完成时间"), null=True, blank=True)

    class Meta(TimelineEvent.Meta):
        verbose_name = _("工单动态")
        verbose_name_plural = _("工单动态")
        indexes = [
            models.Index(fields=["ticket", "-at"], name="ticket_event_timeline"),
            # The weekly review's reopens and chases: two verbs over two weeks, not every event.
            models.Index(fields=["verb", "at"], name="ticket_event_verb_at"),
        ]


class Phrase(models.Model):
    """标准话术 offered in the reply box (B13): greeting, soothing, closing."""

    class Kind(models.TextChoices):
        GREETING = "greeting", _("问候语")
        SOOTHING = "soothing", _("安抚语")
        PROGRESS = "progress", _("进展告知")
        CLOSING = "closing", _("结束语")

    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    text = models.CharField(_("话术"), max_length=300)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("标准话术")
        verbose_name_plural = _("标准话术")
        ordering = ["kind", "sort_order", "id"]

    def __str__(self):
        return self.text


class ForbiddenPhrase(models.Model):
    """服务禁语 (B13): checked before an update the customer sees is saved.
    ``block`` refuses the text; ``warn`` asks the agent to confirm the wording."""

    class Severity(models.TextChoices):
        BLOCK = "block", _("禁止使用")
        WARN = "warn", _("提醒斟酌")

    text = models.CharField(_("禁语"), max_length=64, unique=True)
    severity = models.CharField(_("级别"), max_length=8, choices=Severity.choices,
                                default=Severity.BLOCK)
    suggestion = models.CharField(_("建议说法"), max_length=300, blank=True, default="")
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("服务禁语")
        verbose_name_plural = _("服务禁语")
        ordering = ["severity", "text"]

    def __str__(self):
        return self.text


class SavedFilter(models.Model):
    """A queue with its filters that an agent saved under a name."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="saved_ticket_filters", verbose_name=_("用户"))
    name = models.CharField(_("名称"), max_length=40)
    query = models.CharField(_("筛选条件"), max_length=500)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("常用筛选")
        verbose_name_plural = _("常用筛选")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")]

    def __str__(self):
        return self.name


class TicketStat(models.Model):
    """工单日统计: tickets taken in on ``day`` that are now in ``status``, by type. Kept by
    ``kefu.tickets.stats``; the month column lets the report group without date functions."""

    day = models.DateField(_("受理日期"))
    month = models.DateField(_("受理月份"))
    status = models.CharField(_("状态"), max_length=20, choices=Ticket.Status.choices)
    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="+",
                                    verbose_name=_("工单类型"))
    count = models.IntegerField(_("数量"), default=0)

    class Meta:
        verbose_name = _("工单日统计")
        verbose_name_plural = _("工单日统计")
        constraints = [
            models.UniqueConstraint(fields=["day", "status", "ticket_type"], name="ticket_stat_unique"),
        ]
        indexes = [models.Index(fields=["month", "status", "ticket_type"], name="ticket_stat_month")]

    def __str__(self):
        return f"{self.day} {self.status} {self.ticket_type_id}: {self.count}"
