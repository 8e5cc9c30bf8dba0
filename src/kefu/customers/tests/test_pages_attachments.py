"""Attachments: stored outside the web root, checked by size, extension and leading bytes,
downloaded only through the permission-checked view."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.static import serve

from kefu.customers.models import Attachment, CustomerEvent
from kefu.customers.services import ATTACHMENT_TOO_BIG, ATTACHMENT_TYPE

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    return Path(settings.MEDIA_ROOT)


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def upload(client, customer, name, content, kind="contract"):
    return client.post(reverse("customers:attachment_upload", args=[customer.pk]),
                       {"kind": kind, "file": SimpleUploadedFile(name, content)})


def stored_files(media):
    return [p for p in media.rglob("*") if p.is_file()]


def test_it_stores_an_uploaded_pdf_outside_the_web_root(agent, customer, media):
    response = upload(logged_in(agent), customer, "购销合同.pdf", PDF)
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    row = Attachment.objects.get()
    assert (row.original_name, row.content_type, row.size, row.kind, row.uploaded_by) == (
        "购销合同.pdf", "application/pdf", len(PDF), "contract", agent)
    path = Path(row.file.path)
    assert path.is_relative_to(media)
    assert path.read_bytes() == PDF
    assert path.name != "购销合同.pdf"  # stored under a random name
    assert not path.is_relative_to(Path(django_settings.STATIC_ROOT))
    for static_dir in django_settings.STATICFILES_DIRS:
        assert not path.is_relative_to(Path(static_dir))
    assert CustomerEvent.objects.filter(customer=customer, verb="attachment_added").exists()


def _all_patterns(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _all_patterns(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern


def test_no_url_serves_the_media_directory(agent, customer):
    assert not [p for p in _all_patterns(get_resolver().url_patterns) if p.callback is serve]
    upload(logged_in(agent), customer, "合同.pdf", PDF)
    relative = Attachment.objects.get().file.name
    client = logged_in(agent)
    for url in (f"/{relative}", f"/media/{relative}", f"/private/{relative}",
                f"/static/{relative}", f"{django_settings.MEDIA_URL}{relative}"):
        assert client.get(url).status_code == 404, url


def test_the_detail_page_links_to_the_checked_download(agent, customer):
    client = logged_in(agent)
    upload(client, customer, "合同.pdf", PDF)
    row = Attachment.objects.get()
    body = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert reverse("customers:attachment", args=[customer.pk, row.pk]) in body
    assert row.file.name not in body


@pytest.mark.parametrize(("role", "status"), [
    ("agent", 200), ("engineer", 200), ("supervisor", 200), ("manager", 403),
    ("other_region_engineer", 404), ("nobody", 403),
])
def test_only_permitted_users_download_it(request, agent, customer, role, status):
    upload(logged_in(agent), customer, "合同.pdf", PDF)
    row = Attachment.objects.get()
    user = request.getfixturevalue(role)
    response = logged_in(user).get(reverse("customers:attachment", args=[customer.pk, row.pk]))
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("attachment;")
    else:
        assert PDF not in response.content


def test_a_row_whose_file_is_gone_is_a_404_not_a_500(agent, customer):
    client = logged_in(agent)
    upload(client, customer, "合同.pdf", PDF)
    row = Attachment.objects.get()
    Path(row.file.path).unlink()
    response = client.get(reverse("customers:attachment", args=[customer.pk, row.pk]))
    assert response.status_code == 404


def test_anonymous_users_are_sent_to_log_in(agent, customer):
    upload(logged_in(agent), customer, "合同.pdf", PDF)
    row = Attachment.objects.get()
    response = Client().get(reverse("customers:attachment", args=[customer.pk, row.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("name", "content"), [
    ("setup.exe", EXE),
    ("x.pdf", EXE),  # the extension lies about the bytes
    ("照片.png", PDF),
    ("README", b"plain text"),
    ("宏.docm", b"PK\x03\x04"),
])
def test_a_file_of_the_wrong_kind_is_refused_with_the_message(agent, customer, media, name,
                                                              content):
    response = upload(logged_in(agent), customer, name, content)
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [str(ATTACHMENT_TYPE)]
    assert str(ATTACHMENT_TYPE) in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_a_file_over_the_size_limit_is_refused(agent, customer, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    too_big = PDF + b"0" * (settings.ATTACHMENT_MAX_BYTES - len(PDF) + 1)
    response = upload(logged_in(agent), customer, "扫描件.pdf", too_big)
    assert response.status_code == 200
    message = str(ATTACHMENT_TOO_BIG) % {"max": filesizeformat(1024 * 1024)}
    assert response.context["form"].errors["file"] == [message]
    assert message in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_a_file_at_the_size_limit_is_accepted(agent, customer, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    exact = PDF + b"0" * (settings.ATTACHMENT_MAX_BYTES - len(PDF))
    assert upload(logged_in(agent), customer, "扫描件.pdf", exact).status_code == 302
    assert Attachment.objects.get().size == settings.ATTACHMENT_MAX_BYTES


def test_an_empty_upload_is_refused(agent, customer, media):
    response = upload(logged_in(agent), customer, "空.pdf", b"")
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_an_engineer_cannot_upload(engineer, customer, media):
    response = upload(logged_in(engineer), customer, "合同.pdf", PDF)
    assert response.status_code == 403
    assert not Attachment.objects.exists()
    assert stored_files(media) == []
