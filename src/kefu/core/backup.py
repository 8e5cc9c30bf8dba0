"""Backup and restore of Kefu's database (`kefu backup`, `kefu restore`).

PostgreSQL: ``pg_dump --format=custom`` taken inside an exported snapshot, so the manifest's
counts and migration state describe exactly what is in the dump; restored with ``pg_restore
--clean --if-exists --no-owner --single-transaction`` (all or nothing). SQLite: the online
backup API copies a consistent snapshot while the app keeps writing (WAL); a restore copies the
backup into the database file through the same API, after checking no other process has it open.

Beside each backup ``<backup>.json`` (the manifest) records the backend, the applied migrations
per app, counts, the Kefu version and git commit, the backup's SHA-256, and a fingerprint of the
field key (an HMAC of a constant under the key: it tells keys apart without revealing one). With
``--with-attachments`` the uploaded files (``KEFU_DATA_DIR/private``) go to
``<backup>.attachments.tar``. The keys themselves are never in a backup.

Every refusal is a ``BackupError`` whose message is one translated line, raised before anything
is written to the database or the data directory.
"""

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT = "kefu-backup"
FORMAT_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
SUFFIX = {"postgresql": ".dump", "sqlite": ".sqlite3"}
BACKEND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
# Waiting for a table lock longer than this means the app is still running: fail, roll back.
PG_LOCK_TIMEOUT = "60s"
FINGERPRINT_CONSTANT = b"kefu backup field-key fingerprint v1"


class BackupError(Exception):
    """A refusal or failure, with a message meant for the operator (one line)."""


@dataclasses.dataclass
class BackupResult:
    path: Path
    size: int
    manifest_path: Path
    manifest: dict
    attachments_path: Path | None = None


@dataclasses.dataclass
class RestoreResult:
    backend: str
    database: str
    counts: dict
    expected_counts: dict | None
    key_status: str  # "ok", "mismatch" or "unknown" (no manifest and nothing encrypted to try)
    warnings: list
    attachments_restored: int | None = None


# -- small helpers ---------------------------------------------------------------------------


def key_fingerprint(key=None):
    """Tells two field keys apart without revealing either: HMAC-SHA256(key, constant)."""
    key = settings.FIELD_KEY if key is None else key
    digest = hmac.new(str(key).encode(), FINGERPRINT_CONSTANT, hashlib.sha256).hexdigest()
    return "hmac-sha256:" + digest[:32]


def backend_of(connection):
    if connection.vendor == "postgresql":
        return "postgresql"
    if connection.vendor == "sqlite":
        return "sqlite"
    raise BackupError(_("不支持备份 %(vendor)s 数据库：只支持 PostgreSQL 和 SQLite。")
                      % {"vendor": connection.vendor})


def manifest_path(path):
    return Path(f"{path}.json")


def attachments_path(path):
    return Path(f"{path}.attachments.tar")


def detect_format(path):
    """'postgresql', 'sqlite' or None, from the file's first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    return None


def sha256_of(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def describe_database(connection):
    if backend_of(connection) == "sqlite":
        return str(connection.settings_dict["NAME"])
    sd = connection.settings_dict
    return f"{sd.get('NAME') or ''}@{sd.get('HOST') or 'localhost'}:{sd.get('PORT') or 5432}"


def _one_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _tables_of(cursor, backend):
    if backend == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = ANY(current_schemas(false))")
    return {row[0] for row in cursor.fetchall()}


def _counted_tables():
    from django.contrib.auth import get_user_model

    from kefu.customers.models import Customer
    from kefu.tickets.models import Ticket

    return {"tickets": Ticket._meta.db_table, "customers": Customer._meta.db_table,
            "users": get_user_model()._meta.db_table}


def _facts(cursor, backend):
    """Counts and applied migrations, read through a DB-API cursor (no ORM, any connection)."""
    tables = _tables_of(cursor, backend)
    counts = {}
    for key, table in _counted_tables().items():
        if table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[key] = cursor.fetchone()[0]
        else:
            counts[key] = 0
    migrations = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    return {"counts": counts, "migrations": migrations}


def current_facts(using="default"):
    connection = connections[using]
    backend = backend_of(connection)
    if backend == "sqlite" and not Path(connection.settings_dict["NAME"]).exists():
        return {"counts": {key: 0 for key in _counted_tables()}, "migrations": {}}
    try:
        with connection.cursor() as cursor:
            return _facts(cursor, backend)
    except DatabaseError as exc:
        raise BackupError(_("无法读取数据库 %(db)s：%(error)s")
                          % {"db": describe_database(connection), "error": _one_line(exc)}) from None


def _git_commit():
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR,
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def _kefu_version():
    try:
        return metadata.version("kefu")
    except metadata.PackageNotFoundError:
        return None


def human_size(size):
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"



def _create_private(path):
    """An empty file only its owner can read: a backup holds password hashes and personal data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def default_backup_path(backend, now=None, folder=None):
    """DATA_DIR/backups/kefu-YYYYmmdd-HHMMSS.dump (or .sqlite3), local time, never reused."""
    folder = Path(folder) if folder is not None else Path(settings.DATA_DIR) / "backups"
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    path = folder / f"kefu-{stamp}{SUFFIX[backend]}"
    n = 1
    while path.exists():
        path = folder / f"kefu-{stamp}-{n}{SUFFIX[backend]}"
        n += 1
    return path


# -- PostgreSQL tools ------------------------------------------------------------------------

_PG_OPTION_ENV = {
    "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "passfile": "PGPASSFILE", "service": "PGSERVICE",
    "connect_timeout": "PGCONNECT_TIMEOUT", "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def pg_env(settings_dict, lock_timeout=None):
    """The environment for pg_dump/pg_restore: connection settings as PG* variables, so the
    password is never on a command line (where `ps` would show it)."""
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    options = settings_dict.get("OPTIONS") or {}
    for key, var in _PG_OPTION_ENV.items():
        if options.get(key) not in (None, ""):
            env[var] = str(options[key])
    pgoptions = [env.get("PGOPTIONS", ""), str(options.get("options") or "")]
    if lock_timeout:
        pgoptions.append(f"-c lock_timeout={lock_timeout}")
    env["PGOPTIONS"] = " ".join(part for part in pgoptions if part).strip()
    if not env["PGOPTIONS"]:
        del env["PGOPTIONS"]
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return env


def pg_tool(name):
    path = shutil.which(name)
    if path is None:
        raise BackupError(_("找不到 %(tool)s：请安装与 PostgreSQL 服务器同一主版本的客户端工具"
                            "（Debian: postgresql-client-15），并放在 PATH 里。") % {"tool": name})
    return path


def pg_tool_version(path):
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(_("无法运行 %(tool)s：%(error)s") % {"tool": path, "error": exc}) from None
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None, out.strip()


def _pg_failure(tool, stderr):
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    detail = (errors or lines or ["?"])[0]
    detail = re.sub(r"^(pg_dump|pg_restore): (error: )?", "", detail)
    return BackupError(_("%(tool)s 失败：%(detail)s") % {"tool": tool, "detail": detail})


def pg_archive_tables(path):
    """Tables listed in a custom-format archive's table of contents (validates the archive)."""
    tool = pg_tool("pg_restore")
    result = subprocess.run([tool, "--list", str(path)], capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        detail = re.sub(r"^pg_restore: (error: )?", "", _one_line(result.stderr))
        raise BackupError(_("备份文件已损坏或不是 pg_dump 自定义格式：%(detail)s")
                          % {"detail": detail or "?"})
    tables = set()
    for line in result.stdout.splitlines():
        match = re.match(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", line)
        if match:
            tables.add(match.group(2))
    return tables, result.stdout


# -- backup ----------------------------------------------------------------------------------


def backup(path=None, *, with_attachments=False, using="default"):
    connection = connections[using]
    backend = backend_of(connection)
    if path is None:
        target = default_backup_path(backend)
    else:
        target = Path(path).expanduser()
        if target.is_dir() or str(path).endswith(os.sep):
            target = default_backup_path(backend, folder=target)
    target = target.resolve()
    for file in (target, manifest_path(target),
                 attachments_path(target) if with_attachments else None):
        if file is not None and file.exists():
            raise BackupError(_("文件已存在，不会覆盖：%(path)s") % {"path": file})
    if backend == "postgresql":
        tool = pg_tool("pg_dump")  # before creating anything
    folder = target.parent
    created_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = folder / f".{target.name}.partial"
    partial.unlink(missing_ok=True)
    made = [partial]
    try:
        _create_private(partial)
        if backend == "postgresql":
            facts, details = _pg_backup(connection, partial, tool)
        else:
            facts, details = _sqlite_backup(connection, partial)
        os.replace(partial, target)
        made = [target]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "backend": backend,
            "file": target.name,
            "size": target.stat().st_size,
            "sha256": sha256_of(target),
            "created_at": timezone.localtime().isoformat(timespec="seconds"),
            "kefu_version": _kefu_version(),
            "git_commit": _git_commit(),
            "database": details,
            "counts": facts["counts"],
            "migrations": facts["migrations"],
            "field_key_fingerprint": key_fingerprint(),
            "attachments": None,
        }
        attachments = None
        if with_attachments:
            attachments = attachments_path(target)
            made.append(attachments)
            manifest["attachments"] = _tar_attachments(attachments)
        mpath = manifest_path(target)
        _create_private(mpath)
        made.append(mpath)
        mpath.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    except BaseException:
        for file in made:
            with contextlib.suppress(OSError):
                file.unlink()
        if created_folder:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return BackupResult(path=target, size=manifest["size"], manifest_path=mpath,
                        manifest=manifest, attachments_path=attachments)


def _pg_backup(connection, partial, tool):
    version, version_text = pg_tool_version(tool)
    # A second connection holds a REPEATABLE READ snapshot and exports it: pg_dump dumps that
    # snapshot and the manifest's counts are read from it, so both describe the same instant.
    aux = connection.copy()
    try:
        try:
            aux.ensure_connection()
        except DatabaseError as exc:
            raise BackupError(_("无法连接数据库 %(db)s：%(error)s")
                              % {"db": describe_database(connection), "error": _one_line(exc)}) from None
        server = aux.pg_version
        if version and version[0] < server // 10000:
            raise BackupError(_("%(tool)s 的版本（%(have)s）比数据库服务器（%(server)s）旧：请安装同一"
                                "主版本的客户端工具。") % {"tool": "pg_dump", "have": version_text,
                                                    "server": server // 10000})
        aux.set_autocommit(False)
        with aux.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts = _facts(cursor, "postgresql")
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
            sd = connection.settings_dict
            result = subprocess.run(
                # The database, host, user and password come from PG* variables (pg_env).
                [tool, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                 f"--file={partial}"],
                env=pg_env(sd), capture_output=True, text=True,
            )
        aux.rollback()
    finally:
        aux.close()
    if result.returncode != 0:
        raise _pg_failure("pg_dump", result.stderr)
    return facts, {"name": connection.settings_dict.get("NAME"), "server_version": server_version,
                   "tool": version_text}


def _sqlite_uri(path, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(str(Path(path).resolve()))}?{query}"


def _sqlite_backup(connection, partial):
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or "mode=memory" in name:
        raise BackupError(_("内存中的 SQLite 数据库不能备份。"))
    if not Path(name).is_file():
        raise BackupError(_("找不到数据库文件：%(path)s") % {"path": name})
    try:
        source = sqlite3.connect(_sqlite_uri(name, mode="ro"), uri=True, timeout=20)
    except sqlite3.Error as exc:
        raise BackupError(_("无法打开数据库 %(path)s：%(error)s") % {"path": name, "error": exc}) from None
    try:
        copy = sqlite3.connect(partial)
        try:
            # One step (pages=-1): a single read transaction, so the copy is one consistent
            # snapshot; in WAL mode the app's writers carry on meanwhile.
            source.backup(copy)
            # The copy is a self-contained file (no -wal/-shm beside it).
            copy.execute("PRAGMA journal_mode=DELETE")
            facts = _facts(copy.cursor(), "sqlite")
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(_("SQLite 备份失败：%(error)s") % {"error": exc}) from None
    finally:
        source.close()
    return facts, {"name": Path(name).name, "sqlite_version": sqlite3.sqlite_version,
                   "tool": "sqlite3 online backup API"}


def _tar_attachments(path):
    root = Path(settings.MEDIA_ROOT)
    _create_private(path)
    count = 0
    with tarfile.open(path, "w") as archive:
        if root.is_dir():
            for file in sorted(root.rglob("*")):
                if file.is_file() and not file.is_symlink():
                    archive.add(file, arcname=str(file.relative_to(root)), recursive=False)
                    count += 1
    return {"file": path.name, "size": path.stat().st_size, "sha256": sha256_of(path),
            "files": count}


# -- reading a backup ------------------------------------------------------------------------


@dataclasses.dataclass
class BackupInfo:
    path: Path
    backend: str
    manifest: dict | None
    archive_tables: set | None = None


def inspect(path, *, backend):
    """Check a backup file before anything is touched: it exists, belongs to this backend, is
    intact (SHA-256 from the manifest, then the format's own check)."""
    path = Path(path).expanduser()
    if path.suffix == ".json" and not path.is_dir() and Path(str(path)[:-5]).is_file():
        path = Path(str(path)[:-5])  # the manifest was named instead of the backup
    if not path.is_file():
        raise BackupError(_("找不到备份文件：%(path)s") % {"path": path})
    path = path.resolve()
    try:
        kind = detect_format(path)
    except OSError as exc:
        raise BackupError(_("无法读取备份文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from None
    if kind is None:
        raise BackupError(_("不是 Kefu 备份文件（既不是 pg_dump 自定义格式，也不是 SQLite 数据库）：%(path)s")
                          % {"path": path})
    if kind != backend:
        raise BackupError(_("这是 %(file_backend)s 的备份，而当前配置的数据库是 %(db_backend)s：不能恢复。")
                          % {"file_backend": BACKEND_NAMES[kind], "db_backend": BACKEND_NAMES[backend]})
    manifest = _read_manifest(path)
    if manifest is not None and manifest.get("sha256") and sha256_of(path) != manifest["sha256"]:
        raise BackupError(_("备份文件已损坏：校验和与清单 %(manifest)s 中记录的不一致。")
                          % {"manifest": manifest_path(path).name})
    info = BackupInfo(path=path, backend=kind, manifest=manifest)
    if kind == "sqlite":
        _check_sqlite_file(path)
    else:
        tables, _listing = pg_archive_tables(path)
        if "django_migrations" not in tables:
            raise BackupError(_("这个 pg_dump 文件里没有 Kefu 的数据表：%(path)s") % {"path": path})
        info.archive_tables = tables
    return info


def _read_manifest(path):
    mpath = manifest_path(path)
    if not mpath.is_file():
        return None
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(_("备份清单无法读取：%(path)s（%(error)s）")
                          % {"path": mpath, "error": _one_line(exc)}) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("备份清单无法读取：%(path)s（%(error)s）")
                          % {"path": mpath, "error": "format"})
    return manifest


def _sqlite_size_problem(path):
    """A truncated copy can pass quick_check (missing pages read as zeros): compare the file's
    size with the page count its header records."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100:
        return "header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1) or size % page_size:
        return f"size {size} is not a multiple of the page size {page_size}"
    pages = int.from_bytes(header[28:32], "big")
    # The header's page count is reliable when its "version-valid-for" matches the change counter.
    if header[24:28] == header[92:96] and pages and pages * page_size != size:
        return f"{size} bytes, the header says {pages * page_size}"
    return None


def _check_sqlite_file(path):
    problem = _sqlite_size_problem(path)
    if problem:
        raise BackupError(_("备份文件已损坏（可能被截断）：%(error)s") % {"error": problem})
    try:
        # immutable: read without locks or -wal/-shm files; nobody writes a backup file.
        db = sqlite3.connect(_sqlite_uri(path, mode="ro", immutable=1), uri=True)
        try:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = _tables_of(db.cursor(), "sqlite")
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BackupError(_("备份文件已损坏：%(error)s") % {"error": exc}) from None
    if result != "ok":
        raise BackupError(_("备份文件已损坏：%(error)s") % {"error": result})
    if "django_migrations" not in tables:
        raise BackupError(_("这个 SQLite 文件里没有 Kefu 的数据表：%(path)s") % {"path": path})


def _check_attachments(info):
    entry = (info.manifest or {}).get("attachments")
    if not entry:
        return None
    archive = info.path.parent / entry["file"]
    if not archive.is_file():
        raise BackupError(_("清单列出了附件包 %(path)s，但找不到这个文件。") % {"path": archive})
    if sha256_of(archive) != entry.get("sha256"):
        raise BackupError(_("附件包已损坏：校验和与清单中记录的不一致：%(path)s") % {"path": archive})
    try:
        with tarfile.open(archive) as tar:
            tar.getmembers()
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(_("附件包已损坏：%(error)s") % {"error": exc}) from None
    return archive


# -- restore ---------------------------------------------------------------------------------


def has_data(counts):
    return any(counts.get(key) for key in ("tickets", "customers", "users"))


def restore(path, *, force=False, skip_attachments=False, using="default"):
    connection = connections[using]
    backend = backend_of(connection)
    info = inspect(path, backend=backend)
    archive = None if skip_attachments else _check_attachments(info)
    warnings = []
    before = current_facts(using)
    if has_data(before["counts"]) and not force:
        raise BackupError(
            _("数据库 %(db)s 里已有数据（工单 %(tickets)s 张，客户 %(customers)s 个，用户 %(users)s 个），"
              "恢复会覆盖它们：确认要覆盖请加 --force（建议先用 kefu backup 备份）。")
            % {"db": describe_database(connection), **before["counts"]})
    if info.manifest is None:
        warnings.append(_("没有找到备份清单 %(path)s：无法核对数量和密钥指纹。")
                        % {"path": manifest_path(info.path).name})
    if backend == "postgresql":
        warnings += _pg_restore(connection, info)
    else:
        _sqlite_restore(connection, info)
    after = current_facts(using)
    expected = (info.manifest or {}).get("counts")
    if expected is not None and {k: expected.get(k) for k in after["counts"]} != after["counts"]:
        warnings.append(_("恢复后的数量与清单不一致：清单 %(expected)s，数据库 %(actual)s。")
                        % {"expected": expected, "actual": after["counts"]})
    warnings += _migration_warnings(connection)
    restored_files = None
    if archive is not None:
        restored_files = _untar_attachments(archive)
    return RestoreResult(backend=backend, database=describe_database(connection),
                         counts=after["counts"], expected_counts=expected,
                         key_status=_key_status(connection, info.manifest), warnings=warnings,
                         attachments_restored=restored_files)


def _pg_restore(connection, info):
    tool = pg_tool("pg_restore")
    sd = connection.settings_dict
    warnings = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        others = cursor.fetchone()[0]
        existing = _tables_of(cursor, "postgresql")
    if others:
        warnings.append(_("恢复时还有 %(n)s 个其他连接连着这个数据库：请先停止 Kefu 的网站和后台任务进程。")
                        % {"n": others})
    connection.close()
    # One transaction: a damaged archive or a lock held by a running app rolls everything back.
    result = subprocess.run(
        [tool, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--no-password",
         "--dbname", sd.get("NAME") or "", str(info.path)],
        env=pg_env(sd, lock_timeout=PG_LOCK_TIMEOUT), capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise _pg_failure("pg_restore", result.stderr)
    # pg_restore leaves the planner without statistics until autovacuum gets round to it; the
    # queue queries need them at once.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    extra = sorted(existing - (info.archive_tables or set()))
    if extra:
        warnings.append(_("数据库里有备份中没有的表（保留未动）：%(tables)s。备份来自较旧的版本时，"
                          "请恢复到一个新建的空数据库，再运行 kefu migrate。")
                        % {"tables": ", ".join(extra)})
    return warnings


def _sqlite_restore(connection, info):
    target = Path(connection.settings_dict["NAME"])
    connection.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        dest = sqlite3.connect(target, timeout=1, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(_("无法打开数据库 %(path)s：%(error)s") % {"path": target, "error": exc}) from None
    try:
        # Leaving WAL needs the only connection: if Kefu (web or worker) still has the file
        # open this fails, and nothing has been written yet. It also folds the -wal file in.
        try:
            mode = dest.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                mode = None
            else:
                raise BackupError(_("当前数据库文件无法打开（%(error)s）：请先把它移走再恢复：%(path)s")
                                  % {"error": exc, "path": target}) from None
        if mode != "delete":
            raise BackupError(_("数据库 %(path)s 正被其他进程使用：请先停止 Kefu 的网站和后台任务进程再恢复。")
                              % {"path": target})
        source = sqlite3.connect(_sqlite_uri(info.path, mode="ro", immutable=1), uri=True)
        try:
            # The backup API writes the pages in one transaction on the destination: a failure
            # part-way (or a crash, through the rollback journal) leaves the old database.
            source.backup(dest)
        except sqlite3.Error as exc:
            raise BackupError(_("SQLite 恢复失败：%(error)s") % {"error": exc}) from None
        finally:
            source.close()
        dest.execute("PRAGMA journal_mode=WAL")
    finally:
        dest.close()


def _untar_attachments(archive):
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    count = 0
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        # "data" filter: no absolute paths, no "..", no links out of the folder, no devices.
        tar.extractall(root, members=members, filter="data")
        count = len(members)
    return count


def _migration_warnings(connection):
    from django.apps import apps
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        applied = set(executor.loader.applied_migrations)
        installed = {config.label for config in apps.get_app_configs()}
        unknown = sorted(f"{app}.{name}" for app, name in applied - set(graph.nodes)
                         if app in installed)
        pending = executor.migration_plan(graph.leaf_nodes())
    except DatabaseError as exc:
        return [_("无法读取迁移状态：%(error)s") % {"error": _one_line(exc)}]
    warnings = []
    if unknown:
        warnings.append(_("备份来自更新的 Kefu 版本（有本版本不认识的迁移：%(names)s）：请先升级 Kefu。")
                        % {"names": ", ".join(unknown[:5])})
    if pending:
        warnings.append(_("备份来自较旧的 Kefu 版本：请运行 kefu migrate（%(n)s 个迁移未应用）。")
                        % {"n": len(pending)})
    return warnings


def _key_status(connection, manifest):
    """'mismatch' if the manifest's fingerprint differs or a stored value fails to decrypt."""
    from kefu.core import crypto
    from kefu.customers.models import Address, Customer, Phone

    if manifest and manifest.get("field_key_fingerprint"):
        if manifest["field_key_fingerprint"] != key_fingerprint():
            return "mismatch"
        status = "ok"
    else:
        status = "unknown"
    samples = []
    try:
        with connection.cursor() as cursor:
            for model, field in ((Phone, "number"), (Customer, "id_number"), (Address, "text")):
                column = model._meta.get_field(field).column
                cursor.execute(f'SELECT "{column}" FROM "{model._meta.db_table}" '
                               f"WHERE \"{column}\" <> '' LIMIT 3")
                samples += [row[0] for row in cursor.fetchall()]
    except DatabaseError:
        return status
    for token in samples:
        try:
            crypto.decrypt(token)
        except Exception:  # InvalidTag with another key; ValueError on damaged text
            return "mismatch"
    return "ok" if samples else status
