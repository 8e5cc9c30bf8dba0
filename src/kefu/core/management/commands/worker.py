"""`kefu worker`: the Huey consumer that runs background jobs and the periodic SLA monitor.

The queue is Redis when KEFU_REDIS_URL is set, else the SQLite file DATA_DIR/huey.sqlite3 (one
machine only). Threads come from KEFU_WORKER_THREADS (default 2) or --threads.

Periodic tasks: every consumer with periodic scheduling on (KEFU_WORKER_PERIODIC, default on;
--no-periodic turns it off) offers to enqueue them each minute, and a claim on the queue's own
storage lets exactly one consumer do so for a given minute. So several worker machines may all
keep it on, and the SLA monitor still runs once a minute as long as any of them is up.

Each run of a periodic task is recorded in the queue's storage; `kefu worker --status` prints
the queue length and the SLA monitor's last run, and exits with status 1 when that run is
older than --max-age minutes (for a monitoring check).

Stop: SIGINT finishes the tasks in flight first; SIGTERM stops at once (the SLA monitor is
idempotent, a pass cut short is finished by the next one).
"""

import argparse
import datetime
import logging
import socket
import sys
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from huey.api import PeriodicTask
from huey.consumer import Consumer, Scheduler
from huey.exceptions import HueyException

LAST_RUN_KEY = "kefu:last-run:%s"
CLAIM_KEY = "kefu:periodic-claim:%s"
SLA_MONITOR = "sla_monitor"  # kefu.tickets.tasks.sla_monitor


def _minute(ts):
    return ts.strftime("%Y%m%d%H%M")


class ClaimingScheduler(Scheduler):
    """Enqueues the periodic tasks of a minute only if no other consumer did already."""

    def enqueue_periodic_tasks(self, now):
        ts = now or self.huey._get_timestamp()
        claimed = self.huey.put_if_empty(CLAIM_KEY % _minute(ts), socket.gethostname())
        if not claimed:
            self._logger.debug("Periodic tasks of %s enqueued by another consumer", _minute(ts))
            return
        # Claims are one small key per minute: drop the one from two minutes ago (not the last
        # one, which a consumer whose clock lags a little may still be checking).
        self.huey.delete(CLAIM_KEY % _minute(ts - datetime.timedelta(minutes=2)))
        super().enqueue_periodic_tasks(ts)


class KefuConsumer(Consumer):
    scheduler_class = ClaimingScheduler


def record_periodic_runs(huey):
    """After every periodic task, store when it ran, whether it failed and what it returned
    (huey keeps no results of periodic tasks)."""

    @huey.post_execute(name="kefu_record_periodic_run")
    def record(task, task_value, exc):
        if not isinstance(task, PeriodicTask):
            return
        result = task_value if isinstance(task_value, dict | list | str | int | type(None)) else None
        huey.put(LAST_RUN_KEY % task.name, {
            "at": timezone.now().isoformat(),
            "ok": exc is None,
            "error": "" if exc is None else f"{type(exc).__name__}: {exc}",
            "result": result,
            "host": socket.gethostname(),
        })

    return record


def last_run(huey, name=SLA_MONITOR):
    return huey.get(LAST_RUN_KEY % name, peek=True)


def queue_description():
    if settings.REDIS_URL:
        parts = urlsplit(settings.REDIS_URL)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return "Redis " + urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return "SQLite " + settings.HUEY["filename"]


def _setup_logging(verbosity):
    logger = logging.getLogger("huey")
    logger.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG))
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(
            "[%(asctime)s] %(levelname)s %(name)s %(threadName)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False  # the root logger's console handler would print it twice


class Command(BaseCommand):
    help = _(
        "后台任务：运行 Huey 消费者（设置 KEFU_REDIS_URL 时用 Redis，否则用 SQLite 队列），"
        "并每分钟运行 SLA 监控。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int,
                            help=_("工作线程数，覆盖 KEFU_WORKER_THREADS（默认 2）"))
        parser.add_argument("--periodic", action=argparse.BooleanOptionalAction, default=None,
                            help=_("是否调度周期任务（SLA 监控），覆盖 KEFU_WORKER_PERIODIC（默认开启）"))
        parser.add_argument("--status", action="store_true",
                            help=_("只显示队列长度和 SLA 监控上次运行的时间，然后退出"))
        parser.add_argument("--max-age", type=int, default=5,
                            help=_("与 --status 一起用：SLA 监控超过这么多分钟没有运行时以状态 1 退出"))

    def execute(self, *args, **options):
        if options.get("status"):
            options["skip_checks"] = True  # a monitoring probe prints only what it was asked
        return super().execute(*args, **options)

    def handle(self, threads=None, periodic=None, status=False, max_age=5, **options):
        from huey.contrib.djhuey import HUEY

        if status:
            return self.show_status(HUEY, max_age)
        if HUEY.immediate:
            raise CommandError(_(
                "后台任务处于即时模式（KEFU_MODE=test 或 KEFU_HUEY_IMMEDIATE）：任务在请求中直接执行，"
                "没有队列可消费。"
            ))
        consumer_options = dict(settings.HUEY.get("consumer", {}))
        if threads is not None:
            if threads < 1:
                raise CommandError(_("--threads 至少为 1"))
            consumer_options["workers"] = threads
        if periodic is not None:
            consumer_options["periodic"] = periodic

        autodiscover_modules("tasks")
        try:
            HUEY._registry.string_to_task("kefu.tickets.tasks.sla_monitor")
        except HueyException:
            raise CommandError(_("没有找到 SLA 监控任务（kefu.tickets.tasks）。")) from None
        record_periodic_runs(HUEY)
        _setup_logging(options.get("verbosity", 1))
        self.stdout.write(_(
            "Kefu 后台任务已启动：%(queue)s，%(threads)s 个线程，周期任务%(periodic)s"
        ) % {
            "queue": queue_description(),
            "threads": consumer_options["workers"],
            "periodic": _("开启") if consumer_options.get("periodic", True) else _("关闭"),
        })
        self.stdout.flush()
        connections.close_all()  # each worker thread opens its own
        KefuConsumer(HUEY, **consumer_options).run()

    def show_status(self, huey, max_age):
        self.stdout.write(_("队列：%(queue)s") % {"queue": queue_description()})
        try:
            pending, scheduled = huey.pending_count(), huey.scheduled_count()
            run = last_run(huey)
        except Exception as exc:  # redis.ConnectionError, sqlite3.Error: one line, not a trace
            raise CommandError(_("无法读取队列：%(error)s") % {"error": exc}) from None
        self.stdout.write(_("等待执行的任务：%(count)s") % {"count": pending})
        self.stdout.write(_("计划中的任务：%(count)s") % {"count": scheduled})
        if not run:
            raise CommandError(_("SLA 监控还没有运行过：kefu worker 是否在运行，且有一个开启了周期任务？"))
        at = datetime.datetime.fromisoformat(run["at"])
        age = timezone.now() - at
        self.stdout.write(_("SLA 监控上次运行：%(at)s（%(seconds)s 秒前，%(host)s）%(outcome)s") % {
            "at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"),
            "seconds": int(age.total_seconds()),
            "host": run.get("host", ""),
            "outcome": (" " + " ".join(f"{k}={v}" for k, v in run["result"].items()))
            if run["ok"] and isinstance(run.get("result"), dict) else
            (" " + _("失败：%(error)s") % {"error": run["error"]} if not run["ok"] else ""),
        })
        if age > datetime.timedelta(minutes=max_age):
            raise CommandError(_("SLA 监控已超过 %(minutes)s 分钟没有运行。") % {"minutes": max_age})
        if not run["ok"]:
            raise CommandError(_("SLA 监控上次运行失败。"))
