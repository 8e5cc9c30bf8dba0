"""Standard and forbidden phrases from the source documents (002, 003): the greeting, soothing
and closing lines the hotline uses, and the phrases it forbids. Admins edit them afterwards."""

from django.db import migrations

PHRASES = [  # kind, text
    ("greeting", "您好，客服中心，工号{工号}为您服务，请问有什么可以帮您？"),
    ("greeting", "您好，请问您是{客户}吗？我是客服中心的{姓名}，就您反馈的问题和您联系。"),
    ("soothing", "感谢您的反馈，我们已收到您的问题，非常理解您此刻的心情，将立即为您核实处理。"),
    ("soothing", "给您带来不便，我们深表歉意，我们会尽快为您处理。"),
    ("progress", "我们已核实到问题原因，技术团队正在处理，预计{时间}前完成，完成后会第一时间通知您。"),
    ("progress", "您的问题我们会有更专业的工程师与您联系，请您保持电话畅通。"),
    ("closing", "问题已处理完毕，请您再试一下看是否还有异常；若仍有问题，请随时联系我们。"),
    ("closing", "今后您有任何服务要求，请和我们联系，感谢您的来电，再见。"),
]
FORBIDDEN = [  # text, severity, suggestion
    ("不归我们管", "block", "这个问题我帮您联系负责的同事，由他们尽快与您联系。"),
    ("不大清楚", "block", "这个问题我马上为您核实，核实后第一时间回复您。"),
    ("不知道", "block", "这个问题我马上为您核实，核实后第一时间回复您。"),
    ("没办法", "block", "我们一起看看还有哪些可行的方案。"),
    ("你自己看着办", "block", "建议您按以下步骤操作，如有问题我们随时协助。"),
    ("不是我们的问题", "block", "我们先帮您排查原因，确认后给您明确答复。"),
    ("大概", "warn", "请给出确定的时间或结论；暂不确定时，说明何时答复。"),
    ("可能", "warn", "请给出确定的结论；暂不确定时，说明正在核实、何时答复。"),
]


def load(apps, schema_editor):
    Phrase = apps.get_model("tickets", "Phrase")
    Forbidden = apps.get_model("tickets", "ForbiddenPhrase")
    for i, (kind, text) in enumerate(PHRASES):
        Phrase.objects.get_or_create(kind=kind, text=text, defaults={"sort_order": i})
    for text, severity, suggestion in FORBIDDEN:
        Forbidden.objects.get_or_create(text=text, defaults={"severity": severity, "suggestion": suggestion})


def unload(apps, schema_editor):
    apps.get_model("tickets", "Phrase").objects.filter(text__in=[p[1] for p in PHRASES]).delete()
    apps.get_model("tickets", "ForbiddenPhrase").objects.filter(text__in=[f[0] for f in FORBIDDEN]).delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_resolution_handoff_phrases_saved_filters")]
    operations = [migrations.RunPython(load, unload)]
