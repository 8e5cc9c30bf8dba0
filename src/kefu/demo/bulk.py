"""Bulk demo data for benchmarks: ``kefu demo --tickets 1000000`` (``make bench-data``).

Years of a service centre's history, written straight into the tables (``COPY`` on PostgreSQL,
``executemany`` on SQLite) in batches, one transaction per batch, with a progress bar on stderr.
The small demo (``data.py``, ``tickets.py``) plays every ticket through the services and is far
too slow for a million; this module reuses its vocabularies (issues, products, names, streets,
regions, notes) and produces what the services would have stored:

* ~50 staff: the demo cast plus generated agents, dispatchers, engineers (by region and level),
  supervisors and a manager (password ``data.DEMO_PASSWORD``);
* customers (default tickets/5) created over the ticket span plus one year before it, each with
  a primary contact, one or two phones (encrypted, with the real blind index, so the phone
  lookup finds them; every generated number is unique, see ``customer_phone``), an encrypted
  address and, for most, one or two assets;
* tickets over ``years`` years ending at the present, more on working days and office hours
  and growing year on year; types, channels and priorities weighted like the demo desk; each
  ticket's life (queue/claim or assign, acknowledgement, notes, escalation, hold/resume, chase,
  resolve, confirm, reopen, close) runs on its own clock and stops at the present, so old
  tickets are closed and recent ones spread over the open states; some are left stuck
  (overdue). Numbers are CS+YYYYMM+seq in time order.
* SLA columns exactly as the services compute them (the policy chosen by ``sla.select_policy``;
  the working calendar from ``CalendarDay`` through a prefix-sum table instead of day loops;
  resume shifts, reopen restarts), and the SLA monitor's marks (warned, breached and its
  escalation and event, response breached) set where the monitor would have set them, so its
  first pass has nothing to catch up on;
* the events the services write (created, queued, claimed/assigned, notes, held, resumed,
  escalated, chased, sla_breached, resolved, confirmed, reopened, closed) with their Chinese
  summaries and data: 7.3 per ticket on average, mostly 6–9 (a closed ticket's path through
  the services writes at least six), fewer for the open ones;
* one "+" history row per ticket, its state at intake, as ``ticket_create`` records it (about
  a fifth of the write time): the history table has the size and indexes a service create
  writes into, and a ticket's history page is not empty. The later rows (one per change) are
  not written: they would multiply the largest table for nothing the benchmarks read;
* the daily counts of ``kefu.tickets.stats`` (the report's source), kept per batch.

Not written: customer history rows and timeline events, tags, notifications.

Writing: rows are built in a forked worker process (pure Python, ~200 µs a ticket) while the
main process writes the previous batch; PostgreSQL takes them by ``COPY`` with the foreign-key
triggers off when the role may (see ``_may_skip_fk_checks``), SQLite by ``executemany`` with
a 256 MiB page cache. Measured on 2 shared cores (other work running): 100,000 tickets with
20,000 customers in 39 s on SQLite and 48 s on PostgreSQL; 1,000,000 with 200,000 customers
in 6.2 min on SQLite (3.3 GB) and 6.5 min on PostgreSQL (3.4 GB).

Deterministic and resumable. Everything about customer ``i`` and ticket ``i`` comes from a
random generator seeded with (seed, i), and intake moments from a fixed function of i, so a
batch can be generated on its own: the same seed, present and staff give the same data
whatever the batch size or interruptions. Primary keys and numbers are reserved up front (the id
sequences and the ``NumberSequence`` rows of every month/year are moved past the generated
ranges in the first transaction), so new tickets taken in by the services, even during an
interrupted run, never collide with generated ones. Progress is kept in ``NumberSequence``
rows with the prefix ``~bulk`` (parameters, reservations and the count done), updated in the
same transaction as each batch: a rerun with the same parameters continues where the last one
stopped, one with different parameters is refused.
"""

import bisect
import collections
import datetime
import functools
import json
import multiprocessing
import os
import random
import sys
import time
from array import array
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from kefu.core import crypto
from kefu.core.models import CalendarDay, NumberSequence
from kefu.core.workcalendar import parse_working_hours
from kefu.customers.models import Address, Asset, Contact, Customer, Phone
from kefu.demo import data
from kefu.demo import tickets as desk
from kefu.tickets import sla
from kefu.tickets.models import (
    Channel,
    Priority,
    ServiceMode,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketType,
)

MARK = "~bulk"  # NumberSequence.prefix of the generator's bookkeeping rows
PARAMS = ("tickets", "customers", "years", "seed", "anchor")

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
MASK = (1 << 64) - 1
EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()

CUSTOMER_LEAD_DAYS = 365  # customers exist from a year before the first ticket
GROWTH = 0.6  # the last day of the span sees 1.6 times the first day's volume
HOUR_WEIGHTS_WORKDAY = {h: w for h, w in desk.HOURS.items()}
HOUR_WEIGHTS_WORKDAY.update({h: 0.3 for h in range(0, 8)})
HOUR_WEIGHTS_WORKDAY.update({22: 0.8, 23: 0.4})
HOUR_WEIGHTS_REST = {h: (1.2 if 9 <= h <= 21 else 0.2) for h in range(24)}
OFFICE_HOURS = range(8, 19)

STALL_RECENT_DAYS = 45
STALL_RECENT = 0.15  # share of recent tickets that get stuck somewhere (the backlog)
STALL_OLD = 0.008  # old tickets forgotten in progress or on hold
STALL_STAGES_FRESH = {"new": 10, "unassigned": 25, "in_progress": 40, "on_hold": 25}
STALL_STAGES = {"in_progress": 60, "on_hold": 40}
POOL = 0.3  # share of tickets queued to the pool and claimed instead of assigned
ON_TIME = 0.88
RESPONSE_ON_TIME = 0.85
SLOW_CONFIRM = 0.05
SLOW_CLOSE = 0.06  # share of tickets resolved within their resolution time (the rest breach)

KIND_WEIGHTS = dict(data.KINDS)
ORG_DISTRICTS = ["", "", "城东", "城西", "高新区", "开发区", "江北", "河西", "南湖", "北城"]
AREA_CODES = {
    "上海": "021", "北京": "010", "广州": "020", "深圳": "0755", "成都": "028", "武汉": "027",
    "杭州": "0571", "南京": "025", "重庆": "023", "长沙": "0731", "苏州": "0512", "宁波": "0574",
    "东莞": "0769", "佛山": "0757", "厦门": "0592", "天津": "022", "石家庄": "0311", "太原": "0351",
    "济南": "0531", "昆明": "0871", "贵阳": "0851", "西安": "029", "郑州": "0371", "南昌": "0791",
    "合肥": "0551",
}
FIRST_MOBILE = ["138", "139", "186", "135", "158", "177", "189"]
SECOND_MOBILE = ["136", "137", "150", "151", "187", "199"]
PHONE_MULT, PHONE_MULT2 = 48_271_111, 69_621_017  # odd, not multiples of 5: bijections mod 10^8

ROLE_LETTER = {"agent": "A", "dispatcher": "D", "engineer": "E", "supervisor": "S", "manager": "M"}
STAFF_LOGINS = "agent01–19, dispatcher01–03, engineer01–16, supervisor01–03, manager01"
TIER_LABEL = {2: "二线热线工程师", 3: "技术中心/专家"}
EMPTY = "{}"


class GenerationError(Exception):
    """The generator cannot run (or continue) with these parameters on this database."""


@dataclass(frozen=True)
class Summary:
    customers: int
    tickets: int
    customers_done: int  # written by this run
    tickets_done: int
    events: int  # events written by this run
    seconds: float
    complete: bool


def _mix(x):
    """splitmix64: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


class _Weighted:
    __slots__ = ("keys", "cum", "total")

    def __init__(self, weights):
        self.keys, self.cum, total = list(weights), [], 0.0
        for w in weights.values():
            total += w
            self.cum.append(total)
        self.total = total

    def pick(self, rng):
        return self.keys[min(bisect.bisect_right(self.cum, rng.random() * self.total), len(self.keys) - 1)]

    def at(self, fraction):
        return self.keys[min(bisect.bisect_right(self.cum, fraction * self.total), len(self.keys) - 1)]


# -- time ----------------------------------------------------------------------------------------

class Calendar:
    """Working-time arithmetic in integer microseconds, exact to ``kefu.core.workcalendar``.

    Days come from ``CalendarDay`` (a day without a row counts Monday to Friday, where the
    service would refuse); working periods from ``settings.WORKING_HOURS``. ``cum[d]`` is the
    working time before day ``d``, so the working position of an instant is one lookup and
    adding working time one bisection. Needs a time zone without daylight saving over the span
    (Asia/Shanghai).
    """

    def __init__(self, first: datetime.date, last: datetime.date, horizon: datetime.date):
        tz = ZoneInfo(settings.TIME_ZONE)
        offsets = {datetime.datetime.combine(first + datetime.timedelta(days=d), datetime.time(12), tz).utcoffset()
                   for d in range(0, (last - first).days + 1, 30)}
        if len(offsets) != 1:
            raise GenerationError(f"TIME_ZONE {settings.TIME_ZONE} changes its UTC offset; "
                                  "the bulk generator needs a fixed one (Asia/Shanghai)")
        self.offset = int(offsets.pop().total_seconds()) * US
        self.first = first
        self.origin_local = (first - datetime.date(1970, 1, 1)).days * DAY  # local µs of day 0
        self.periods = [(_tod(s), _tod(e)) for s, e in parse_working_hours(settings.WORKING_HOURS)]
        self.day_work = sum(e - s for s, e in self.periods)
        known = dict(CalendarDay.objects.filter(date__gte=first, date__lte=last)
                     .values_list("date", "is_workday"))
        self.missing = 0  # days up to ``horizon`` without a CalendarDay row
        self.work, self.cum, self.workdays = [], [0], []
        day = first
        while day <= last:
            if day in known:
                work = known[day]
            else:
                work = day.weekday() < 5
                self.missing += day <= horizon
            if work:
                self.workdays.append(len(self.work))
            self.work.append(work)
            self.cum.append(self.cum[-1] + (self.day_work if work else 0))
            day += datetime.timedelta(days=1)

    def day_of(self, t):
        """(day index, µs since local midnight) of instant ``t``."""
        return divmod(t + self.offset - self.origin_local, DAY)

    def day_start(self, d):
        """The instant of local midnight of day index ``d``."""
        return self.origin_local + d * DAY - self.offset

    def is_workday(self, d):
        return self.work[d]

    def pos(self, t):
        d, tod = self.day_of(t)
        p = self.cum[d]
        if self.work[d]:
            for s, e in self.periods:
                if tod >= e:
                    p += e - s
                else:
                    if tod > s:
                        p += tod - s
                    break
        return p

    def add(self, t, duration):
        """workcalendar.add_working_time."""
        if duration <= 0:
            return t
        target = self.pos(t) + duration
        d = bisect.bisect_left(self.cum, target) - 1
        if d + 1 >= len(self.cum):
            raise GenerationError("deadline beyond the generator's calendar")
        left = target - self.cum[d]
        base = self.day_start(d)
        for s, e in self.periods:
            if left <= e - s:
                return base + s + left
            left -= e - s
        raise AssertionError("unreachable")

    def between(self, a, b):
        """workcalendar.working_time_between."""
        return self.pos(b) - self.pos(a)

    def add_days(self, t, days):
        """workcalendar.add_working_days for a datetime: same time of day, ``days`` later."""
        d, _tod = self.day_of(t)
        k = bisect.bisect_right(self.workdays, d) + days - 1
        if k >= len(self.workdays):
            raise GenerationError("deadline beyond the generator's calendar")
        return t + (self.workdays[k] - d) * DAY


def _tod(value: datetime.time):
    return ((value.hour * 60 + value.minute) * 60 + value.second) * US + value.microsecond


class Policy:
    """An SlaPolicy as plain numbers, with the deadline arithmetic of ``kefu.tickets.sla``."""

    __slots__ = ("pk", "resp", "resolve", "calendar", "natural", "ratio", "cal")

    def __init__(self, policy: SlaPolicy, cal: Calendar):
        self.pk, self.cal = policy.pk, cal
        self.natural = policy.clock == SlaPolicy.Clock.NATURAL
        self.resp = (policy.response_amount, policy.response_unit)
        self.resolve = (policy.resolve_amount, policy.resolve_unit)
        self.calendar = not self.natural or SlaPolicy.Unit.WORKING_DAYS in (
            policy.response_unit, policy.resolve_unit)
        self.ratio = float(policy.warn_ratio)

    def _add(self, start, target):
        amount, unit = target
        if unit == SlaPolicy.Unit.WORKING_DAYS:
            return self.cal.add_days(start, amount)
        step = amount * (MINUTE if unit == SlaPolicy.Unit.MINUTES else HOUR)
        return start + step if self.natural else self.cal.add(start, step)

    def response_due(self, start):
        return self._add(start, self.resp)

    def resolve_due(self, start):
        return self._add(start, self.resolve)

    def warn_at(self, start, due):
        if self.calendar:
            total = datetime.timedelta(microseconds=self.cal.between(start, due)) * self.ratio
            return self.cal.add(start, total // datetime.timedelta(microseconds=1))
        return start + (datetime.timedelta(microseconds=due - start) * self.ratio) // datetime.timedelta(microseconds=1)

    def part(self, start, due, share):
        """The moment ``share`` of the time from ``start`` to ``due`` has passed."""
        if self.calendar:
            return self.cal.add(start, int(self.cal.between(start, due) * share))
        return start + int((due - start) * share)

    def paused(self, held, resumed):
        return self.cal.between(held, resumed) if self.calendar else resumed - held

    def shift(self, deadline, paused):
        if paused <= 0:
            return deadline
        return self.cal.add(deadline, paused) if self.calendar else deadline + paused


class Timeline:
    """Intake moments: ticket ``i`` of ``count`` → an instant (µs), non-decreasing in ``i``.

    The span is cut into hours weighted by working day/rest day, hour of day and a linear
    growth; ticket i sits at the quantile (i + u_i)/count of that weight (u_i a fixed
    low-discrepancy jitter), so any index is placed without generating the others.
    """

    def __init__(self, count, start, end, cal: Calendar, salt):
        self.count, self.jitter = count, (salt % 1_000_003) / 1_000_003
        self.starts, self.cum, self.widths = [], [], []
        total = 0.0
        t = start
        span = end - start
        while t < end:
            d, tod = cal.day_of(t)
            hour = tod // HOUR
            slot_end = min(t + HOUR - tod % HOUR, end)
            table = HOUR_WEIGHTS_WORKDAY if cal.is_workday(d) else HOUR_WEIGHTS_REST
            weight = table[hour] * (1 + GROWTH * (t - start) / span) * (slot_end - t) / HOUR
            if weight > 0:
                self.starts.append(t)
                self.widths.append(slot_end - t)
                total += weight
                self.cum.append(total)
            t = slot_end
        self.total = total

    def at(self, i):
        u = (i * 0.6180339887498949 + self.jitter) % 1.0
        q = (i + u) / self.count * self.total
        k = bisect.bisect_right(self.cum, q)
        if k >= len(self.cum):
            k = len(self.cum) - 1
        before = self.cum[k - 1] if k else 0.0
        share = (q - before) / (self.cum[k] - before)
        return self.starts[k] + min(int(share * self.widths[k]), self.widths[k] - 1)


# -- the generator -------------------------------------------------------------------------------

class Generator:
    """Rows for customer i and ticket i of one data set (parameters and present fixed)."""

    def __init__(self, *, tickets, customers, years, seed, anchor):
        self.n_tickets, self.n_customers, self.years, self.seed = tickets, customers, years, seed
        self.anchor = anchor  # epoch seconds of the present
        self.end = anchor * US
        self.start = self.end - years * 365 * DAY
        self.c_start = self.start - CUSTOMER_LEAD_DAYS * DAY
        self.vendor = connection.vendor
        tz = ZoneInfo(settings.TIME_ZONE)
        first = datetime.datetime.fromtimestamp(self.c_start // US, tz).date() - datetime.timedelta(days=2)
        today = datetime.datetime.fromtimestamp(anchor, tz).date()
        self.cal = Calendar(first, today + datetime.timedelta(days=120), today + datetime.timedelta(days=14))
        self.timeline = Timeline(tickets, self.start, self.end, self.cal, _mix(seed))
        self.rng = random.Random()
        self.t_seed = _mix(seed * 2 + 1) << 32
        self.c_seed = _mix(seed * 2 + 2) << 32
        self.c_hash = _mix(seed * 2 + 3)
        self.phone_off = _mix(seed * 2 + 4) % 10**8
        self.phone_off2 = _mix(seed * 2 + 5) % 10**8
        self.ts = _formatter("+00:00" if self.vendor == "postgresql" else "")
        self.products = [p for p, _f in data.PRODUCTS]
        self.families = [f for _p, f in data.PRODUCTS]

    # -- formatting ------------------------------------------------------------------------------

    def local(self, us):
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us + self.cal.offset)

    # -- customers -------------------------------------------------------------------------------

    def customer_at(self, i):
        """When customer i was created: evenly over [ticket start - 1 year, now)."""
        span = self.end - self.c_start
        return self.c_start + ((2 * i + 1) * span) // (2 * self.n_customers)

    def customers_before(self, t):
        """How many customers exist at instant t."""
        span = self.end - self.c_start
        k = max(0, min(self.n_customers, ((t - self.c_start) * self.n_customers) // span))
        while k < self.n_customers and self.customer_at(k) < t:
            k += 1
        while k > 0 and self.customer_at(k - 1) >= t:
            k -= 1
        return k

    def skeleton(self, i):
        """What tickets need to know of customer i, from a hash (no generator, no database):
        (region index, kind, is organisation, [(product index, purchase date ordinal,
        warranty end ordinal)])."""
        h = _mix(self.c_hash + i)
        region = (h & 0xFF) % len(data.REGIONS)
        kind = _KINDS.at(((h >> 8) & 0xFFFF) / 0x10000)
        is_org = ((h >> 24) & 0xFF) < 90  # 35 %
        n = (h >> 32) & 0xFF
        n_assets = 0 if n < 90 else (1 if n < 205 else 2)
        created = self.customer_at(i)
        assets = []
        h2 = _mix(h)
        for j in range(n_assets):
            bits = h2 >> (j * 24)
            product = (bits & 0xFF) % len(data.PRODUCTS)
            age_days = 20 + ((bits >> 8) & 0x3FF) % 900
            purchase = self.local(created).date().toordinal() - age_days
            family = self.families[product]
            years = 3 if family in ("car", "floor") else 1 + ((bits >> 18) % 3)
            assets.append((product, purchase, purchase + 365 * years))
        return region, kind, is_org, assets

    def phones(self, i, is_org, city, second):
        """Customer i's phone numbers, normalised: a mobile unique to it, and maybe a second."""
        first = FIRST_MOBILE[i % len(FIRST_MOBILE)] + f"{(i * PHONE_MULT + self.phone_off) % 10**8:08d}"
        if not second:
            return [first]
        suffix = (i * PHONE_MULT2 + self.phone_off2) % 10**8
        if is_org:
            local = f"{2 + suffix % 7}{suffix % 10**7:07d}"
            return [first, crypto.normalize_phone(f"{AREA_CODES.get(city, '021')}-{local}")]
        return [first, SECOND_MOBILE[i % len(SECOND_MOBILE)] + f"{suffix:08d}"]

    def customer_rows(self, i, ref):
        rng = self.rng
        rng.seed(self.c_seed + i)
        region, kind, is_org, assets = self.skeleton(i)
        region_code = data.REGIONS[region][0]
        city = rng.choice(data.CITIES[region_code])
        created = self.customer_at(i)
        created_s = self.ts(created)
        year = self.local(created).year
        number = f"KH{year}{ref.kh_base[year] + i - ref.kh_first[year] + 1:05d}"
        pk = ref.pk_customer + i
        birthday = datetime.date(rng.randrange(1960, 2002), rng.randrange(1, 13), rng.randrange(1, 29))
        person = data.SURNAMES[rng.randrange(len(data.SURNAMES))] + rng.choice(data.GIVEN) + (
            rng.choice(data.GIVEN) if rng.random() < 0.7 else "")
        if is_org:
            name = city + rng.choice(["市", ""]) + rng.choice(ORG_DISTRICTS) + rng.choice(data.ORGS)
            id_number = id_index = ""
            contact_name, contact_role = person, rng.choice(["信息中心主任", "总务处", "采购", "行政"])
        else:
            name = person
            raw_id = data._id_number(rng, birthday)
            id_number, id_index = crypto.encrypt(raw_id), crypto.id_number_index(raw_id)
            contact_name, contact_role = person, ""
        customer = {
            "id": pk, "number": number, "party_type": "organisation" if is_org else "person",
            "name": name, "kind": kind, "outlet_level": rng.choice(["", "", "1", "2"]),
            "region_id": ref.regions[region_code], "birthday": None if is_org else birthday.isoformat(),
            "id_number": id_number, "id_number_index": id_index,
            "notes": rng.choice(["", "", "偏好上午上门", "需提前电话预约", "合同每年三月续签"]),
            "created_at": created_s, "updated_at": created_s, "created_by_id": rng.choice(ref.takers),
        }
        contact_pk = ref.pk_contact + i
        contact = {"id": contact_pk, "customer_id": pk, "name": contact_name, "role": contact_role,
                   "is_primary": True}
        numbers = self.phones(i, is_org, city, rng.random() < 0.4)
        phones = []
        for k, number_ in enumerate(numbers):
            phones.append({
                "customer_id": pk, "contact_id": contact_pk if k == 0 else None,
                "number": crypto.encrypt(number_), "number_index": crypto.blind_index(number_, "phone"),
                "label": "landline" if number_.startswith("0") else "mobile",
            })
        address = {"customer_id": pk, "is_default": True, "label": "",
                   "text": crypto.encrypt(f"{city}市{rng.choice(data.STREETS)}{rng.randrange(1, 500)}号")}
        asset_rows = []
        today = self.local(self.end).date()
        for j, (product, purchase_ord, warranty_ord) in enumerate(assets):
            family = self.families[product]
            purchase = datetime.date.fromordinal(purchase_ord)
            row = {
                "id": ref.pk_asset + ref.asset_prefix[i] + j, "customer_id": pk,
                "product_model": self.products[product], "purchase_date": purchase.isoformat(),
                "warranty_end": datetime.date.fromordinal(warranty_ord).isoformat(),
                "contract_number": (f"HT{purchase:%Y}{rng.randrange(1000, 9999)}"
                                    if kind in ("contract", "rental", "major") else ""),
                "created_at": created_s,
            }
            if family == "car":
                row["serial"] = "L" + "".join(rng.choice(data.VIN_CHARS) for _ in range(16))
                row["plate"] = data.PLATE_PREFIX.get(city, "沪A") + "".join(
                    rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
            else:
                row["serial"] = f"SN{rng.randrange(10**9, 10**10)}"
            if family in ("board", "floor", "copier", "server"):
                agreed = purchase + datetime.timedelta(days=rng.randrange(3, 15))
                row["agreed_install_date"] = agreed.isoformat()
                if agreed < today:
                    row["installed_on"] = (agreed + datetime.timedelta(days=rng.choice([0, 0, 1, 3]))).isoformat()
            asset_rows.append(row)
        return customer, contact, phones, address, asset_rows

    # -- tickets ---------------------------------------------------------------------------------

    def ticket_rows(self, i, ref):
        """Ticket i: (ticket row, its "+" history row, its events, its local intake day as an
        ordinal)."""
        rng, cal = self.rng, self.cal
        rng.seed(self.t_seed + i)
        t0 = self.timeline.at(i)
        d, tod = cal.day_of(t0)
        office = cal.is_workday(d) and tod // HOUR in OFFICE_HOURS
        type_code = _TYPES.pick(rng)
        issue = rng.choice(ref.issues[type_code])
        k = self.customers_before(t0)
        ci = asset_j = None
        if issue.family:
            pool = ref.by_family.get(issue.family, ())
            n = bisect.bisect_left(pool, k << 2)
            if n:
                code = pool[rng.randrange(n)]
                ci, asset_j = code >> 2, code & 3
            else:
                issue = rng.choice(ref.issues_no_asset)
        if ci is None:
            ci = rng.randrange(max(k, 1))
        region, kind, _is_org, assets = ref.skeletons[ci]
        drawn = _PRIORITIES.pick(rng)
        if issue.priority and rng.random() < 0.8:
            priority = issue.priority
        elif drawn == "urgent" and issue.type not in desk.URGENT_TYPES:
            priority = "normal"
        else:
            priority = drawn
        channel = (_CHANNELS if office else _ONLINE).pick(rng)
        technical = issue.type in desk.TECHNICAL
        policy = ref.policies[(priority, issue.type in ref.technical_types, kind)]
        taker = rng.choice(ref.takers)
        owner = self._owner(rng, ref, issue, region)
        boss = rng.choice(ref.supervisors if issue.type == "complaint" else ref.dispatchers)

        resp_due = policy.response_due(t0)
        res_due = policy.resolve_due(t0)
        warn = policy.warn_at(t0, res_due)
        pk = ref.pk_ticket + i
        k = bisect.bisect_right(ref.cs_starts, i) - 1
        month = ref.cs_months[k]
        seq = ref.cs_base[month] + i - ref.cs_starts[k] + 1
        asset_pk = in_warranty = None
        if asset_j is not None:
            asset_pk = ref.pk_asset + ref.asset_prefix[ci] + asset_j
            in_warranty = (t0 + cal.offset) // DAY + EPOCH_ORDINAL <= assets[asset_j][2]
        expects = None
        if rng.random() < 0.25:
            day_start = cal.day_start(d + rng.choice((1, 2, 3)))
            expects = day_start + 17 * HOUR
        created = self.ts(t0)
        resp_s, res_s, warn_s = self.ts(resp_due), self.ts(res_due), self.ts(warn)
        init = {
            "id": pk, "number": f"CS{month}{seq:03d}", "customer_id": ref.pk_customer + ci,
            "contact_id": ref.pk_contact + ci, "asset_id": asset_pk,
            "channel_id": ref.channels[channel], "ticket_type_id": ref.types[issue.type],
            "priority_id": ref.priorities[priority],
            "department_id": ref.departments.get(desk.DEPARTMENT_OF.get(issue.type, "cs")),
            "service_mode_id": ref.modes.get(issue.mode), "subject": issue.subject,
            "description": issue.description,
            "occurred_at": self.ts(t0 - int(rng.uniform(0.5, 30) * HOUR)) if technical else None,
            "environment": desk.ENVIRONMENTS.get(issue.family, "") if asset_pk else "",
            "error_shown": issue.error, "in_warranty": in_warranty,
            "customer_expects_at": self.ts(expects), "status": "new", "sla_policy_id": policy.pk,
            "response_due_at": resp_s, "resolve_due_at": res_s,
            "resolve_warn_at": warn_s, "created_at": created, "updated_at": created,
            "created_by_id": taker, "version": 1,
        }
        history = dict(init, history_date=created, history_type="+", history_user_id=taker)

        life = _Life(self, rng, policy, t0, resp_due, res_due, warn)
        life.event(t0, taker, "created", "受理工单")
        self._play(life, rng, ref, issue, priority, technical, taker, owner, boss, t0)
        life.finish()

        ts = self.ts
        final = dict(init)
        final.update(
            status=life.status, owner_id=life.owner, version=life.version,
            response_due_at=resp_s if life.resp_due == resp_due else ts(life.resp_due),
            resolve_due_at=res_s if life.res_due == res_due else ts(life.res_due),
            resolve_warn_at=warn_s if life.warn == warn else ts(life.warn),
            sla_warned_at=self.ts(life.warned),
            sla_breached_at=self.ts(life.breached), response_breached_at=self.ts(life.resp_breached),
            first_responded_at=self.ts(life.responded), resolved_at=self.ts(life.resolved),
            closed_at=self.ts(life.closed), on_hold_since=self.ts(life.held),
            paused_seconds=life.paused // US, escalation_tier=life.tier, is_major=life.major,
            solution=life.solution, result=life.result, compensation_kind=life.compensation,
            confirmed_at=self.ts(life.confirmed), chase_count=life.chases,
            reopen_count=life.reopens, updated_at=self.ts(life.last),
        )
        events = [(created if at == t0 else ts(at), actor, verb, summary, payload, pk, visible,
                   None if expected is None else (res_s if expected == res_due else ts(expected)))
                  for at, actor, verb, summary, payload, visible, expected in life.events]
        return final, history, events, (t0 + cal.offset) // DAY + EPOCH_ORDINAL

    def _step(self, life, clock, rng, low, high, late, due=None):
        """A step taking a share (``low``–``high``) of the time left until ``due`` (the
        resolution deadline unless given), on the policy's clock. Once past it, or with
        ``due=False``, ``late``: hours, or minutes when ``due`` is False or a deadline."""
        target = life.res_due if due is None else due
        if target and clock.now < target:
            clock.now = max(clock.now + MINUTE // 2,
                            life.policy.part(clock.now, target, rng.uniform(low, high)))
            return clock.now
        return clock.after(*late, minutes=due is not None)

    def _resolution(self, life, clock, rng, start):
        """When the fix is done: ON_TIME of the tickets before their deadline (on the policy's
        clock, so in working hours for working-clock policies), the others late."""
        if rng.random() < ON_TIME and clock.now < life.res_due:
            return self._step(life, clock, rng, 0.2, 0.95, (1, 4))
        moment = max(life.policy.part(start, life.res_due, rng.uniform(1.05, 2.5)),
                     clock.now + rng.randrange(5, 40) * MINUTE)
        clock.now = moment
        return moment

    def _owner(self, rng, ref, issue, region):
        if issue.type == "complaint":
            return rng.choice(ref.supervisors)
        if issue.type in desk.TECHNICAL:
            if issue.family == "server":
                return rng.choice(ref.senior_engineers)
            if issue.mode != "remote" or rng.random() < 0.6:
                return rng.choice(ref.engineers_by_region[region])
            return rng.choice(ref.agents["cs"])
        if issue.type in ("order", "new_customer"):
            return rng.choice(ref.agents["ops"])
        if issue.type == "suggestion":
            return rng.choice(ref.agents["product"])
        return rng.choice(ref.agents["cs"])

    def _play(self, life, rng, ref, issue, priority, technical, taker, owner, boss, t0):
        """One ticket's life after intake, as the services would have recorded it; each step
        happens only if its moment is before the present."""
        age = self.end - t0
        stall = None
        if age < STALL_RECENT_DAYS * DAY:
            if rng.random() < STALL_RECENT:
                stall = (_STALL_FRESH if age < 7 * DAY else _STALL).pick(rng)
        elif rng.random() < STALL_OLD:
            stall = _STALL.pick(rng)
        if stall == "new":
            return
        clock = _Clock(self, rng, t0)
        name = ref.names[owner]
        # Most tickets are taken and answered within the response time, the others late.
        quick = rng.random() < RESPONSE_ON_TIME
        if rng.random() < POOL:
            if not life.at(clock.after(1, 5, minutes=True)):
                return
            life.move("unassigned")
            life.event(clock.now, taker, "queued", "转入待派单")
            if stall == "unassigned":
                return
            if not life.at(self._step(life, clock, rng, 0.2, 0.6, (3, 60), quick and life.resp_due)):
                return
            life.start_running(clock.now)
            life.owner = owner
            life.version += 1
            life.event(clock.now, owner, "claimed", f"{name} 抢单")
        else:
            if not life.at(self._step(life, clock, rng, 0.1, 0.5, (3, 40), quick and life.resp_due)):
                return
            life.start_running(clock.now)
            life.owner = owner
            life.move("in_progress")
            life.event(clock.now, boss, "assigned", f"派单给 {name}",
                       _payload((("owner", owner), ("reason", ""))))
        if rng.random() < 0.9:
            if quick:
                moment = self._step(life, clock, rng, 0.3, 0.95, (2, 25), life.resp_due)
            else:
                before = clock.now
                moment = clock.after(2, 25, minutes=True)
                if moment > life.res_due > before:  # a short clock: answer well within it
                    clock.now = moment = max(before + MINUTE // 2, life.policy.part(
                        before, life.res_due, rng.uniform(0.05, 0.2)))
            if not life.at(moment):
                return
            life.respond(clock.now, owner, _acknowledgement(issue.mode, name, self.local(life.res_due)))
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            if not life.at(self._step(life, clock, rng, 0.05, 0.25, (0.3, 3))):
                return
            life.event(clock.now, owner, "note", rng.choice(desk.NOTES_TECH if technical else desk.NOTES_OTHER))
        if technical and rng.random() < 0.07 and life.tier < 3:
            if not life.at(self._step(life, clock, rng, 0.05, 0.2, (0.5, 4))):
                return
            major = issue.family == "server" and priority == "urgent"
            reason = "核心业务中断，按重大故障升级" if major else rng.choice(desk.ESCALATE_REASONS)
            life.tier += 1
            life.version += 1
            summary = f"升级至{TIER_LABEL[life.tier]}：{reason}"
            if major and not life.major:
                life.major = True
                summary += "（标记为重大问题）"
            life.event(clock.now, owner, "escalated", summary,
                       _payload((("reason", reason), ("major", major))))
        if stall == "on_hold" or rng.random() < 0.1:
            if not life.at(self._step(life, clock, rng, 0.05, 0.3, (0.5, 8))):
                return
            reason = rng.choice(desk.HOLD_REASONS_TECH if technical else desk.HOLD_REASONS_OTHER)
            life.hold(clock.now, owner, reason)
            if stall == "on_hold":
                return
            if not life.at(clock.after(4, 48)):
                return
            life.resume(clock.now, owner)
        if stall == "in_progress":
            if rng.random() < 0.5 and life.at(clock.after(4, 30)):
                life.chases = 1
                life.version += 1
                life.event(clock.now, taker, "chased", "客户催单（第 1 次）",
                           _payload((("note", rng.choice(desk.CHASE_NOTES)),)))
            return
        if not life.at(self._resolution(life, clock, rng, t0)):
            return
        life.resolve(clock.now, owner, issue)
        slow = rng.random() < SLOW_CONFIRM  # customers who take days to confirm
        if not life.at(clock.after(48, 480) if slow else clock.after(1, 36)):
            return
        life.confirm(clock.now, taker, rng.choice(desk.CONFIRM_HOW))
        if not slow and rng.random() < 0.04:  # within the reopen window
            if not life.at(clock.after(12, 72)):
                return
            reason = rng.choice(desk.REOPEN_REASONS_TECH if technical else desk.REOPEN_REASONS_OTHER)
            life.reopen(clock.now, taker, reason)
            if not life.at(self._resolution(life, clock, rng, clock.now)):
                return
            life.resolve(clock.now, owner, issue)
            if not life.at(clock.after(1, 36)):
                return
            life.confirm(clock.now, taker, rng.choice(desk.CONFIRM_HOW))
        slow = rng.random() < SLOW_CLOSE  # return visits that take days
        if not life.at(clock.after(48, 720) if slow else clock.after(1, 30)):
            return
        life.close(clock.now, taker)


def _formatter(suffix):
    """``ts(µs)``: an instant as text the column takes, as ``str(datetime)`` writes it (naive
    UTC for Django on SQLite, ``+00:00`` for PostgreSQL), with the dates cached."""
    dates = {}
    epoch = datetime.date(1970, 1, 1)

    def ts(us):
        if us is None:
            return None
        day, rest = divmod(us, DAY)
        date = dates.get(day)
        if date is None:
            date = dates[day] = (epoch + datetime.timedelta(days=day)).isoformat()
        seconds, fraction = divmod(rest, US)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        if fraction:
            return f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}{suffix}"
        return f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}{suffix}"

    return ts


def _acknowledgement(mode, name, due_local):
    """The demo desk's first customer-visible reply (the first response)."""
    when = f"{due_local.month}月{due_local.day}日 {due_local.hour:02d}:{due_local.minute:02d}"
    if mode == "onsite":
        return f"您好，已安排工程师{name}上门处理，预计 {when} 前完成。"
    if mode == "remote":
        return f"您好，工程师{name}将远程协助处理，请保持电话畅通，预计 {when} 前完成。"
    if mode == "send_in":
        return f"您好，请将设备送至就近服务网点，{name}负责跟进，预计 {when} 前修复。"
    if mode == "mail_in":
        return f"您好，请将设备寄回服务中心，收到后由{name}处理，预计 {when} 前完成。"
    return f"您好，您的问题已由{name}跟进，预计 {when} 前给您答复。"


@functools.lru_cache(maxsize=8192)
def _payload(items):
    """An event's data as JSON, cached: payloads come from small vocabularies."""
    return json.dumps(dict(items))


class _Clock:
    """The moments of one ticket's life, always forward; night moments move to the next
    morning as in the demo desk. May run past the present: those steps do not happen."""

    __slots__ = ("gen", "rng", "now")

    def __init__(self, gen, rng, start):
        self.gen, self.rng, self.now = gen, rng, start

    def after(self, low, high, minutes=False, day_only=True):
        unit = MINUTE if minutes else HOUR
        moment = self.now + int(self.rng.uniform(low, high) * unit)
        if day_only:
            cal = self.gen.cal
            d, tod = cal.day_of(moment)
            hour = tod // HOUR
            if hour < 9:
                moment = cal.day_start(d) + 9 * HOUR + self.rng.randrange(40) * MINUTE + tod % MINUTE
            elif hour >= 19:
                moment = (cal.day_start(d + 1) + (9 + self.rng.randrange(2)) * HOUR
                          + self.rng.randrange(60) * MINUTE + tod % MINUTE)
        self.now = moment
        return moment


class _Life:
    """A ticket's state while its life is played, with the SLA monitor's marks: a mark is set
    when a deadline passes while the clock runs (new, unassigned, in progress), a minute or so
    later as the monitor's pass would, and at the latest at the present."""

    def __init__(self, gen, rng, policy, t0, resp_due, res_due, warn):
        self.gen, self.rng, self.policy, self.end = gen, rng, policy, gen.end
        self.status, self.owner, self.version = "new", None, 1
        self.resp_due, self.res_due, self.warn = resp_due, res_due, warn
        self.warned = self.breached = self.resp_breached = self.responded = None
        self.resolved = self.closed = self.confirmed = self.held = None
        self.paused, self.tier, self.major, self.chases, self.reopens = 0, 1, False, 0, 0
        self.solution = self.result = self.compensation = ""
        self.running_since = t0
        self.events = []
        self.last = t0

    def at(self, moment):
        """Whether a step at ``moment`` happens (before the present)."""
        return moment < self.end

    def event(self, at, actor, verb, summary, payload=EMPTY, visible=False, expected=None):
        self.events.append((at, actor, verb, summary, payload, visible, expected))
        if at > self.last:
            self.last = at

    def move(self, status):
        self.status = status
        self.version += 1

    def start_running(self, moment):
        if self.running_since is None:
            self.running_since = moment
        self.status = "in_progress"

    def _run(self, a, b):
        """The clock ran over [a, b): the monitor marks what fell due in it."""
        still = b >= self.end
        b = min(b, self.end)

        def mark(due):
            if due >= b and not (still and due <= self.end):
                return None
            moment = max(due, a) + self.rng.randrange(1, 60 * US)
            if moment < b:
                return moment
            return self.end if still else None

        if self.warned is None:
            self.warned = mark(self.warn)
        if self.breached is None:
            moment = mark(self.res_due)
            if moment is not None:
                self.breached = moment
                if self.warned is None or self.warned > moment:
                    self.warned = moment
                if self.tier < 3:
                    self.tier += 1
                    self.version += 1
                self.event(moment, None, "sla_breached", f"超过解决时限，已升级至{TIER_LABEL[self.tier]}")
        if self.resp_breached is None and self.responded is None:
            self.resp_breached = mark(self.resp_due)
        elif self.resp_breached is None and self.responded is not None:
            moment = mark(self.resp_due)
            if moment is not None and moment < self.responded:
                self.resp_breached = moment

    def stop_running(self, moment):
        if self.running_since is not None:
            self._run(self.running_since, moment)
            self.running_since = None

    def respond(self, moment, actor, text):
        self.responded = moment
        self.version += 1
        self.event(moment, actor, "note", text, visible=True, expected=self.res_due)

    def hold(self, moment, actor, reason):
        self.stop_running(moment)
        self.move("on_hold")
        self.held = moment
        self.event(moment, actor, "held", f"挂起：{reason}", _payload((("reason", reason),)))

    def resume(self, moment, actor):
        paused = self.policy.paused(self.held, moment)
        if self.responded is None:
            self.resp_due = self.policy.shift(self.resp_due, paused)
        self.res_due = self.policy.shift(self.res_due, paused)
        self.warn = self.policy.shift(self.warn, paused)
        seconds = int(datetime.timedelta(microseconds=paused).total_seconds())
        self.paused += seconds * US
        self.held = None
        self.move("in_progress")
        self.running_since = moment
        self.event(moment, actor, "resumed", f"恢复处理，时限顺延 {seconds // 60} 分钟",
                   f'{{"paused_seconds": {seconds}}}')

    def resolve(self, moment, actor, issue):
        self.stop_running(moment)
        self.move("resolved")
        self.resolved, self.confirmed = moment, None
        self.solution, self.result = issue.solution, issue.result[:200]
        self.compensation = "service" if issue.type == "complaint" else ""
        summary = f"已解决：{_short(issue.solution)}"
        if self.compensation:
            summary += "；补偿：赠送服务权益"
        self.event(moment, actor, "resolved", summary, _payload((
            ("solution", issue.solution), ("result", self.result),
            ("compensation_kind", self.compensation), ("compensation_amount", None))), visible=True)

    def confirm(self, moment, actor, how):
        self.move("awaiting_callback")
        self.confirmed = moment
        self.event(moment, actor, "confirmed", f"客户确认已解决（{how}）", _payload((("how", how),)))

    def reopen(self, moment, actor, reason):
        self.move("in_progress")
        self.reopens += 1
        self.resolved = self.closed = self.confirmed = None
        self.res_due = self.policy.resolve_due(moment)
        self.warn = self.policy.warn_at(moment, self.res_due)
        self.warned = self.breached = None
        self.running_since = moment
        self.event(moment, actor, "reopened", f"重开：{_short(reason)}", _payload((("reason", reason),)))

    def close(self, moment, actor):
        self.move("closed")
        self.closed = moment
        self.event(moment, actor, "closed", "关闭工单")

    def finish(self):
        self.stop_running(self.end)


def _short(text, limit=200):
    return text if len(text) <= limit else text[:limit - 1] + "…"


_TYPES = _Weighted(desk.TYPE_WEIGHTS)
_CHANNELS = _Weighted(desk.CHANNEL_WEIGHTS)
_ONLINE = _Weighted({c: w for c, w in desk.CHANNEL_WEIGHTS.items() if c in desk.ONLINE})
_PRIORITIES = _Weighted(desk.PRIORITY_WEIGHTS)
_KINDS = _Weighted(KIND_WEIGHTS)
_STALL_FRESH = _Weighted(STALL_STAGES_FRESH)
_STALL = _Weighted(STALL_STAGES)


# -- database ------------------------------------------------------------------------------------

class _Table:
    """Rows for one model in column order (``add`` takes attribute names; missing values take
    the field's default), and their writing."""

    REQUIRED = object()

    def __init__(self, model, omit=()):
        fields = [f for f in model._meta.concrete_fields if f.column not in omit]
        self.model, self.table = model, model._meta.db_table
        self.columns = [f.column for f in fields]
        self.index = {f.attname: k for k, f in enumerate(fields)}
        defaults = []
        for f in fields:
            if f.has_default():
                value = f.get_default()
                if isinstance(value, dict | list):
                    value = json.dumps(value)
                elif isinstance(value, datetime.datetime):
                    value = self.REQUIRED  # e.g. timezone.now: always given explicitly
            elif f.null:
                value = None
            else:
                value = self.REQUIRED
            defaults.append(value)
        self.defaults = defaults
        self.rows = []

    def add(self, values):
        row = self.defaults.copy()
        index = self.index
        for key, value in values.items():
            k = index.get(key)
            if k is not None:
                row[k] = value
        if not self.rows:
            missing = [c for c, v in zip(self.columns, row, strict=True) if v is self.REQUIRED]
            if missing:
                raise AssertionError(f"{self.table}: no value for {missing}")
        self.rows.append(row)

    def take(self):
        """The rows added so far (and a fresh list for the next batch)."""
        rows, self.rows = self.rows, []
        return rows

    def write(self, cursor, rows):
        """COPY (PostgreSQL) or executemany (SQLite) ``rows`` into the table."""
        if not rows:
            return 0
        quote = connection.ops.quote_name
        names = ", ".join(quote(c) for c in self.columns)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(self.table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            cursor.executemany(f"INSERT INTO {quote(self.table)} ({names}) VALUES ({marks})", rows)
        return len(rows)


EVENT_COLUMNS = ["at", "actor_id", "verb", "summary", "data", "ticket_id", "customer_visible",
                 "expected_completion_at"]


def _reserve_ids(model, count):
    """Move the id sequence of ``model`` past ``count`` new ids; return the first of them."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
            top = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first = max(cursor.fetchone()[0], top + 1)
            if count:
                cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
            return first
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0]
        first = max(row[0] if row else 0, top) + 1
        if count:
            if row:
                cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + count - 1, table])
            else:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first + count - 1])
        return first


def read_marker():
    """The generator's bookkeeping rows in this database ({} when it never ran here)."""
    return dict(NumberSequence.objects.filter(prefix=MARK).values_list("period", "last_value"))


def info():
    """What was generated here: parameters and progress, or None."""
    marker = read_marker()
    if not marker:
        return None
    return {key: marker.get(key) for key in (*PARAMS, "done-customers", "done-tickets",
                                              "pk-customer", "pk-ticket")}


def customer_phone(i, seed=2026):
    """The first (mobile) number of generated customer ``i`` (id ``info()["pk-customer"] + i``),
    unique among generated numbers: for phone lookup benchmarks. Depends on the seed only."""
    return FIRST_MOBILE[i % len(FIRST_MOBILE)] + f"{(i * PHONE_MULT + _mix(seed * 2 + 4) % 10**8) % 10**8:08d}"


def _save_marker(values):
    NumberSequence.objects.bulk_create(
        [NumberSequence(prefix=MARK, period=key, last_value=value) for key, value in values.items()])


def _periods(count, at, key):
    """{period: first index} for indexes 0..count-1 placed by the non-decreasing ``at``."""
    firsts, i = {}, 0
    while i < count:
        period = key(at(i))
        firsts[period] = i
        lo, hi = i + 1, count
        while lo < hi:
            mid = (lo + hi) // 2
            if key(at(mid)) == period:
                lo = mid + 1
            else:
                hi = mid
        i = lo
    return firsts


class _Reference:
    """Everything a batch needs that is not generated: ids of configuration rows and staff,
    reservations, customers' skeletons."""


def _ensure_staff(rng):
    """The demo cast and about 42 generated staff across roles, regions and departments."""
    from kefu.accounts.models import Department, Region, Skill
    from kefu.accounts.services import staff_create

    if not data.is_loaded():
        data.load(customers=0, tickets=0)
    User = get_user_model()
    regions = {r.code: r for r in Region.objects.filter(code__in=[c for c, _n in data.REGIONS])}
    depts = {d.code: d for d in Department.objects.all()}
    skills = list(Skill.objects.order_by("code"))
    plan = []
    for k in range(1, 20):
        dept = "cs" if k <= 15 else ("ops" if k <= 17 else "product")
        plan.append(("agent", k, dept, ["junior", "intermediate", "senior"][k % 3], "", []))
    for k in range(1, 4):
        plan.append(("dispatcher", k, "cs", "senior", "", [data.REGIONS[(2 * k) % 5][0], data.REGIONS[(2 * k + 1) % 5][0]]))
    for k in range(1, 17):
        plan.append(("engineer", k, "tech", ["junior", "intermediate", "senior"][k % 3],
                     ["L1", "L2", "L3"][k % 3], [data.REGIONS[k % 5][0]]))
    for k in range(1, 4):
        plan.append(("supervisor", k, "cs", "senior", "", []))
    plan.append(("manager", 1, "cs", "senior", "", []))
    created = []
    existing = set(User.objects.filter(username__in=[f"{r}{k:02d}" for r, k, *_x in plan])
                   .values_list("username", flat=True))
    for role, k, dept, level, eng, region_codes in plan:
        name = rng.choice(data.SURNAMES) + rng.choice(data.GIVEN) + (rng.choice(data.GIVEN) if rng.random() < 0.6 else "")
        chosen = rng.sample(skills, k=min(2, len(skills))) if role == "engineer" else []
        username = f"{role}{k:02d}"
        if username in existing:
            continue
        user = staff_create(
            username=username, password=None, display_name=name,
            employee_no=f"G{ROLE_LETTER[role]}{k:03d}", role=role, department=depts.get(dept),
            level=level, engineer_level=eng, regions=[regions[c] for c in region_codes if c in regions],
            skills=chosen, phone=data._phone(rng),
        )
        created.append(user.pk)
    if created:  # one password hash for all (PBKDF2 per user would take a while)
        User.objects.filter(pk__in=created).update(password=make_password(data.DEMO_PASSWORD))


def _load_reference(gen, marker):
    from kefu.accounts.models import Department, Region

    ref = _Reference()
    User = get_user_model()
    ref.regions = dict(Region.objects.values_list("code", "pk"))
    ref.departments = dict(Department.objects.values_list("code", "pk"))
    ref.types = dict(TicketType.objects.values_list("code", "pk"))
    ref.channels = dict(Channel.objects.values_list("code", "pk"))
    ref.priorities = dict(Priority.objects.values_list("code", "pk"))
    ref.modes = dict(ServiceMode.objects.values_list("code", "pk"))
    ref.technical_types = set(TicketType.objects.filter(is_technical=True).values_list("code", flat=True))
    for needed, rows in (("types", desk.TYPE_WEIGHTS), ("channels", desk.CHANNEL_WEIGHTS),
                         ("priorities", desk.PRIORITY_WEIGHTS)):
        missing = set(rows) - set(getattr(ref, needed))
        if missing:
            raise GenerationError(f"missing ticket configuration ({needed}: {sorted(missing)}); run migrate")
    priorities = {p.code: p for p in Priority.objects.all()}
    ref.policies, cache = {}, {}
    for priority in desk.PRIORITY_WEIGHTS:
        for technical in (False, True):
            for kind in KIND_WEIGHTS:
                policy = sla.select_policy(priority=priorities[priority], technical=technical, customer_kind=kind)
                if policy.pk not in cache:
                    cache[policy.pk] = Policy(policy, gen.cal)
                ref.policies[(priority, technical, kind)] = cache[policy.pk]
    staff = list(User.objects.filter(staff__isnull=False, is_active=True)
                 .values_list("pk", "username", "groups__name", "staff__department__code",
                              "staff__engineer_level", "staff__display_name"))
    ref.names = {pk: name for pk, _u, _g, _d, _e, name in staff}
    by_role = {}
    for pk, _u, role, dept, eng, _n in staff:
        by_role.setdefault(role, []).append((pk, dept, eng))
    region_rows = list(User.objects.filter(groups__name="engineer", staff__regions__isnull=False)
                       .values_list("pk", "staff__regions__code"))
    ref.agents = {}
    for pk, dept, _e in sorted(set(by_role.get("agent", []))):
        ref.agents.setdefault(dept or "cs", []).append(pk)
    ref.agents.setdefault("cs", [])
    if not ref.agents["cs"]:
        raise GenerationError("no agents in the customer-service department")
    for dept in ("ops", "product"):
        ref.agents.setdefault(dept, ref.agents["cs"])
    ref.takers = ref.agents["cs"]
    ref.dispatchers = sorted({pk for pk, *_r in by_role.get("dispatcher", [])}) or ref.takers
    ref.supervisors = sorted({pk for pk, *_r in by_role.get("supervisor", [])}) or ref.dispatchers
    engineers = sorted({pk for pk, *_r in by_role.get("engineer", [])}) or ref.takers
    ref.senior_engineers = sorted({pk for pk, _d, eng in by_role.get("engineer", []) if eng == "L3"}) or engineers
    per_region = {}
    for pk, code in sorted(set(region_rows)):
        per_region.setdefault(code, []).append(pk)
    ref.engineers_by_region = [per_region.get(code) or engineers for code, _n in data.REGIONS]

    ref.issues = {}
    for issue in desk.ISSUES:
        ref.issues.setdefault(issue.type, []).append(issue)
    ref.issues_no_asset = [i for i in desk.ISSUES if i.family is None]

    ref.pk_ticket = marker["pk-ticket"]
    ref.pk_customer = marker["pk-customer"]
    ref.pk_contact = marker["pk-contact"]
    ref.pk_asset = marker["pk-asset"]
    ref.cs_base = {k[2:]: v for k, v in marker.items() if k.startswith("CS")}
    ref.kh_base = {int(k[2:]): v for k, v in marker.items() if k.startswith("KH")}
    ref.cs_first = _periods(gen.n_tickets, gen.timeline.at, lambda t: gen.local(t).strftime("%Y%m"))
    ref.kh_first = _periods(gen.n_customers, gen.customer_at, lambda t: gen.local(t).year)
    ref.cs_months = sorted(ref.cs_first, key=ref.cs_first.get)
    ref.cs_starts = [ref.cs_first[m] for m in ref.cs_months]
    ref.skeletons = [gen.skeleton(i) for i in range(gen.n_customers)]
    ref.asset_prefix = array("q", [0])
    ref.by_family = {}
    for ci, (_r, _k, _o, assets) in enumerate(ref.skeletons):
        ref.asset_prefix.append(ref.asset_prefix[-1] + len(assets))
        for j, (product, _p, _w) in enumerate(assets):
            ref.by_family.setdefault(gen.families[product], []).append(ci << 2 | j)
    return ref


# -- entry point ---------------------------------------------------------------------------------

def generate(*, tickets, customers=None, years=3, seed=2026, batch=5000, now=None, progress=False,
             out=None, stop_after=None, analyze=True, workers=None):
    """Generate (or continue generating) the bulk data set; returns a Summary.

    ``now``: the present the history ends at (default: now; kept by a rerun that continues).
    ``stop_after``: stop once that many tickets exist (a deliberate interruption, for tests).
    ``workers``: processes building rows beside the writer (default: cores - 1, at most 3;
    0 builds them in this process).
    """
    if tickets < 1:
        raise GenerationError("--tickets must be at least 1")
    customers = max(1, tickets // 5) if customers is None else customers
    if customers < 1:
        raise GenerationError("--customers must be at least 1")
    if not 1 <= years <= 20:
        raise GenerationError("--years must be between 1 and 20")
    if seed < 0:
        raise GenerationError("--seed must not be negative")
    if not 1 <= batch <= 100_000:
        raise GenerationError("--batch must be between 1 and 100000")
    say = out or (lambda _text: None)
    started = time.perf_counter()
    marker = read_marker()
    wanted = {"tickets": tickets, "customers": customers, "years": years, "seed": seed}
    if marker:
        have = {key: marker.get(key) for key in wanted}
        if have != wanted:
            raise GenerationError(
                "此数据库已按其他参数生成过数据 / this database was generated with other parameters: "
                + ", ".join(f"{k}={v}" for k, v in have.items())
                + "；请使用相同参数继续，或换一个空数据库 / rerun with the same ones or use an empty database")
        anchor = marker["anchor"]
    else:
        anchor = int((now or timezone.now()).timestamp())
    gen = Generator(tickets=tickets, customers=customers, years=years, seed=seed, anchor=anchor)
    if gen.cal.missing:
        say(f"  工作日历缺 {gen.cal.missing} 天，按周一至周五计 / {gen.cal.missing} days missing from the "
            "working calendar, counted Monday to Friday")
    if not marker:
        with transaction.atomic():
            _ensure_staff(random.Random(seed))
            marker = _plan(gen)
            _save_marker(marker)
    ref = _load_reference(gen, marker)
    done_c0 = done_c = marker.get("done-customers", 0)
    done_t0 = done_t = marker.get("done-tickets", 0)
    last = tickets if stop_after is None else max(done_t, min(tickets, stop_after))
    customer_tables = [_Table(Customer), _Table(Contact), _Table(Asset), _Table(Phone, omit=("id",)),
                       _Table(Address, omit=("id",))]
    ticket_tables = [_Table(Ticket), _Table(Ticket.history.model, omit=("history_id",)),
                     _Table(TicketEvent, omit=("id",))]
    assert ticket_tables[2].columns == EVENT_COLUMNS, ticket_tables[2].columns

    def customer_batch(lo, hi):
        customer, contact, asset, phone, address = customer_tables
        for i in range(lo, hi):
            row, contact_row, phone_rows, address_row, asset_rows = gen.customer_rows(i, ref)
            customer.add(row)
            contact.add(contact_row)
            for r in phone_rows:
                phone.add(r)
            address.add(address_row)
            for r in asset_rows:
                asset.add(r)
        return [table.take() for table in customer_tables], None

    def ticket_batch(lo, hi):
        ticket, history, event = ticket_tables
        days = collections.Counter()  # (intake day, status, type) → tickets, for TicketStat
        for i in range(lo, hi):
            final, history_row, events, day = gen.ticket_rows(i, ref)
            ticket.add(final)
            history.add(history_row)
            event.rows.extend(events)
            days[day, final["status"], final["ticket_type_id"]] += 1
        return [table.take() for table in ticket_tables], days

    events = 0
    unchecked = _may_skip_fk_checks()
    if workers is None:
        workers = max(1, min(3, (os.cpu_count() or 2) - 1))
    builder = _Builder({"customers": customer_batch, "tickets": ticket_batch}, workers)
    bar = None
    try:
        bar = _Progress(progress, customers, done_c, tickets, done_t)
        with _fast_session():
            for name, tables, first, end, key in (
                    ("customers", customer_tables, done_c, customers, "done-customers"),
                    ("tickets", ticket_tables, done_t, last, "done-tickets")):
                bar.phase(name)
                for lo, hi, (rows, days) in builder.batches(name, first, end, batch):
                    with transaction.atomic(), connection.cursor() as cursor:
                        if unchecked:
                            cursor.execute("SET LOCAL session_replication_role = replica")
                        written = [table.write(cursor, table_rows)
                                   for table, table_rows in zip(tables, rows, strict=True)]
                        if unchecked:
                            cursor.execute("SET LOCAL session_replication_role = origin")
                        if days:
                            _count_days(days)
                        _set_done(key, hi)
                    if name == "customers":
                        done_c = hi
                    else:
                        done_t, events = hi, events + written[-1]  # the last table: events
                    bar.advance(name, hi - lo)
    finally:
        builder.close()
        if bar is not None:
            bar.stop()
    complete = done_c >= customers and done_t >= tickets
    if complete and analyze and (done_c > done_c0 or done_t > done_t0):
        # Fresh statistics, so the benchmarks that follow see the plans production would (the
        # worker refreshes them every night; SQLite has none until then).
        from kefu.core import dbstats

        dbstats.refresh([model._meta.db_table for model in
                         (Customer, Phone, Asset, Ticket, TicketEvent, Ticket.history.model)])
    return Summary(customers=done_c, tickets=done_t, customers_done=done_c - done_c0,
                   tickets_done=done_t - done_t0, events=events,
                   seconds=time.perf_counter() - started, complete=complete)


def _may_skip_fk_checks():
    """PostgreSQL: may this role write without the foreign-key triggers?

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: each row queues one check per key
    (``SELECT … FOR KEY SHARE`` on the parent) that runs at commit, which costs as much as the
    COPY itself. The generated rows reference rows that exist by construction (reserved ids,
    the staff and configuration read before), so the writes run with
    ``session_replication_role = replica`` as ``pg_restore --disable-triggers`` does, when the
    role may set it (superuser, or granted SET on the parameter); otherwise they are checked.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on', "
                       "current_setting('server_version_num')::int >= 150000")
        superuser, grantable = cursor.fetchone()
        if superuser or not grantable:  # GRANT SET ON PARAMETER exists from PostgreSQL 15
            return bool(superuser)
        cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        return bool(cursor.fetchone()[0])


def _count_days(days):
    """Keep the daily ticket counts (``kefu.tickets.stats``, the report's source) right: the
    services move them in ``Ticket.save``, which bulk writes bypass. Skipped if that module is
    absent."""
    try:
        from kefu.tickets.stats import bump
    except ImportError:
        return
    for (ordinal, status, type_id), count in sorted(days.items()):
        bump(datetime.date.fromordinal(ordinal), type_id, status, count)


def _set_done(key, value):
    NumberSequence.objects.filter(prefix=MARK, period=key).update(last_value=value)


def _plan(gen):
    """Reservations and parameters for a first run: ids, and the ticket and customer numbers of
    every month and year (the NumberSequence rows move past them now)."""
    marker = {"tickets": gen.n_tickets, "customers": gen.n_customers, "years": gen.years,
              "seed": gen.seed, "anchor": gen.anchor, "done-customers": 0, "done-tickets": 0}
    cs_first = _periods(gen.n_tickets, gen.timeline.at, lambda t: gen.local(t).strftime("%Y%m"))
    kh_first = _periods(gen.n_customers, gen.customer_at, lambda t: gen.local(t).year)
    for prefix, firsts, total in (("CS", cs_first, gen.n_tickets), ("KH", kh_first, gen.n_customers)):
        keys = sorted(firsts)
        for n, key in enumerate(keys):
            count = (firsts[keys[n + 1]] if n + 1 < len(keys) else total) - firsts[key]
            period = str(key)
            NumberSequence.objects.bulk_create(
                [NumberSequence(prefix=prefix, period=period, last_value=0)], ignore_conflicts=True)
            row = NumberSequence.objects.select_for_update().get(prefix=prefix, period=period)
            marker[f"{prefix}{period}"] = row.last_value
            row.last_value += count
            row.save(update_fields=["last_value"])
    assets = sum(len(gen.skeleton(i)[3]) for i in range(gen.n_customers))
    marker["pk-ticket"] = _reserve_ids(Ticket, gen.n_tickets)
    marker["pk-customer"] = _reserve_ids(Customer, gen.n_customers)
    marker["pk-contact"] = _reserve_ids(Contact, gen.n_customers)
    marker["pk-asset"] = _reserve_ids(Asset, assets)
    return marker


_JOBS = {}  # name → make(lo, hi); set before the workers fork, so they inherit it


def _run_job(name, lo, hi):
    return _JOBS[name](lo, hi)


class _Builder:
    """Builds batches of rows in forked worker processes while this process writes: row
    building is pure Python and the writes hold the interpreter too (a thread would only add
    lock contention), so processes are what runs them side by side. Workers inherit the
    generator and never touch the database; rows come back pickled, at most ``workers + 1``
    batches ahead. Without fork (or with ``workers=0``) batches are built here."""

    def __init__(self, jobs, workers):
        _JOBS.clear()
        _JOBS.update(jobs)
        self.workers, self.pool = workers, None
        if workers > 0 and "fork" in multiprocessing.get_all_start_methods():
            self.pool = multiprocessing.get_context("fork").Pool(workers)

    def batches(self, name, first, end, size):
        ranges = iter([(lo, min(lo + size, end)) for lo in range(first, end, size)])
        if self.pool is None:
            for lo, hi in ranges:
                yield lo, hi, _run_job(name, lo, hi)
            return
        pending = collections.deque()

        def submit():
            job = next(ranges, None)
            if job is not None:
                pending.append((*job, self.pool.apply_async(_run_job, (name, *job))))

        for _ in range(self.workers + 1):
            submit()
        while pending:
            lo, hi, result = pending.popleft()
            rows = result.get()
            submit()
            yield lo, hi, rows

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        _JOBS.clear()


class _fast_session:
    """SQLite: a large page cache for this connection while the indexes grow (restored after)."""

    def __enter__(self):
        self.previous = None
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self.previous = cursor.fetchone()[0]
                cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.previous)}")
        return False


class _Progress:
    """Two bars on stderr (rich), with the rate of the running phase; or nothing."""

    def __init__(self, enabled, customers, done_c, tickets, done_t):
        self.progress = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(file=sys.stderr), refresh_per_second=4,
        )
        self.tasks = {
            "customers": self.progress.add_task("客户 customers", total=customers, completed=done_c, rate=""),
            "tickets": self.progress.add_task("工单 tickets  ", total=tickets, completed=done_t, rate=""),
        }
        self.progress.start()

    def phase(self, name):
        self.began, self.done = time.perf_counter(), 0

    def advance(self, name, n):
        if self.progress is None:
            return
        self.done += n
        rate = self.done / max(time.perf_counter() - self.began, 1e-9)
        self.progress.update(self.tasks[name], advance=n, rate=f"{rate:,.0f}/s")

    def stop(self):
        if self.progress is not None:
            self.progress.stop()
