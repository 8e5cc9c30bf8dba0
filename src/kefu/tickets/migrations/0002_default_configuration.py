"""Default ticket configuration from the source documents (002, 003): types, channels,
priorities, service modes and SLA policies. Admins edit them afterwards; this only adds rows
that are not there."""

from django.db import migrations

TYPES = [  # code, name, technical
    ("consult", "咨询", False), ("fault", "故障报修", True), ("account", "账号与权限", False),
    ("complaint", "服务投诉", False), ("suggestion", "建议", False),
    ("order", "订单与售后", False), ("install", "安装", True), ("new_customer", "新客户", False),
]
CHANNELS = [("phone", "电话"), ("chat", "在线客服"), ("email", "邮件"), ("app", "APP 消息"),
            ("wechat", "微信"), ("walk_in", "到店")]
PRIORITIES = [("urgent", "紧急", 1), ("normal", "普通", 2), ("low", "低", 3)]
MODES = [("phone", "电话解答"), ("remote", "远程协助"), ("onsite", "上门服务"), ("send_in", "送修"),
         ("mail_in", "邮寄维修"), ("paid", "有偿服务")]
# Source 002: response urgent 15 min, normal 30 min, low 2 working days; resolution of technical
# faults urgent 4 h, normal 24 h (read as one working day on a business-hours desk), non-technical
# on the spot or within 2 h. Urgent means core business stopped: its clock is natural time.
# Low-priority resolution is not given by the source: 5 working days here.
POLICIES = [  # name, priority, technical, response, resolve, clock
    ("紧急·技术故障", "urgent", True, (15, "minutes"), (4, "hours"), "natural"),
    ("紧急·非技术", "urgent", False, (15, "minutes"), (2, "hours"), "natural"),
    ("普通·技术故障", "normal", True, (30, "minutes"), (1, "working_days"), "working"),
    ("普通·非技术", "normal", False, (30, "minutes"), (2, "hours"), "working"),
    ("低优先级", "low", None, (2, "working_days"), (5, "working_days"), "working"),
]


def load(apps, schema_editor):
    get = apps.get_model
    for i, (code, name, technical) in enumerate(TYPES):
        get("tickets", "TicketType").objects.get_or_create(
            code=code, defaults={"name": name, "is_technical": technical, "sort_order": i})
    for i, (code, name) in enumerate(CHANNELS):
        get("tickets", "Channel").objects.get_or_create(code=code, defaults={"name": name, "sort_order": i})
    for code, name, rank in PRIORITIES:
        get("tickets", "Priority").objects.get_or_create(code=code, defaults={"name": name, "rank": rank})
    for i, (code, name) in enumerate(MODES):
        get("tickets", "ServiceMode").objects.get_or_create(code=code, defaults={"name": name, "sort_order": i})
    Policy = get("tickets", "SlaPolicy")
    for name, priority, technical, (r_amount, r_unit), (s_amount, s_unit), clock in POLICIES:
        if not Policy.objects.filter(name=name).exists():
            Policy.objects.create(
                name=name, priority=get("tickets", "Priority").objects.get(code=priority),
                technical=technical, response_amount=r_amount, response_unit=r_unit,
                resolve_amount=s_amount, resolve_unit=s_unit, clock=clock,
            )


def unload(apps, schema_editor):
    apps.get_model("tickets", "SlaPolicy").objects.filter(name__in=[p[0] for p in POLICIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
