"""Who may open which page: every customer page (and the access log) against every role.

Allowed → 200 (GET) or a 302 to the customer (a POST that worked); the role lacks the
permission → 403; an engineer outside the customer's region → 404, whatever the permission, so
the page says nothing about the customer; anonymous → 302 to the login page. Never a 500, and a
refused page carries nothing of the customer (name, number, phone or ID digits).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from kefu.accounts.roles import ROLE_PERMISSIONS
from kefu.core.models import AccessLog
from kefu.customers import excel, services
from kefu.customers.models import Asset, Attachment, Customer, Phone

pytestmark = pytest.mark.django_db

ROLES = ["agent", "dispatcher", "engineer", "other_region_engineer", "supervisor", "manager",
         "admin_user", "nobody", "anonymous"]
# The fixture name of each role's user → the role code in roles.py.
ROLE_CODES = {"agent": "agent", "dispatcher": "dispatcher", "engineer": "engineer",
              "other_region_engineer": "engineer", "supervisor": "supervisor",
              "manager": "manager", "admin_user": "admin"}

PDF = b"%PDF-1.4\n% kefu test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
# What a refused page must not show: name (clear and masked), number, phone and ID digits.
LEAKS = ["张三明", "张*明", "13812345678", "138****5678", "5678", "110101199001011234",
         "世纪大道", "LFX123456789"]

STAFF = {"agent", "dispatcher", "engineer", "other_region_engineer", "supervisor", "manager",
         "admin_user"}
DESK = {"agent", "dispatcher", "supervisor", "admin_user"}
ENGINEERS = {"engineer", "other_region_engineer"}

# page → (permission, scoped to the customer's region, the roles allowed). The allowed sets are
# written out by hand and checked against roles.py below, so a grant changed by accident there
# fails here instead of silently opening a page.
PAGES = {
    "list": ("customers.view_customer", False, STAFF),
    "lookup": ("customers.view_customer", False, STAFF),
    "create_get": ("customers.add_customer", False, DESK),
    "create_post": ("customers.add_customer", False, DESK),
    "detail": ("customers.view_customer", True, STAFF),
    "edit_get": ("customers.change_customer", True, DESK),
    "edit_post": ("customers.change_customer", True, DESK),
    "reveal": ("customers.reveal_customer_pii", True, DESK | ENGINEERS),
    "phone_add_get": ("customers.change_customer", True, DESK),
    "phone_add_post": ("customers.change_customer", True, DESK),
    "asset_create_get": ("customers.add_asset", True, DESK),
    "asset_create_post": ("customers.add_asset", True, DESK),
    "asset_edit_get": ("customers.change_asset", True, DESK),
    "asset_edit_post": ("customers.change_asset", True, DESK),
    "attachment_upload_get": ("customers.add_attachment", True, DESK),
    "attachment_upload_post": ("customers.add_attachment", True, DESK),
    "attachment_download": ("customers.view_attachment", True, DESK | ENGINEERS),
    "import_get": ("customers.import_customers", False, {"supervisor", "admin_user"}),
    "import_post": ("customers.import_customers", False, {"supervisor", "admin_user"}),
    "import_template": ("customers.import_customers", False, {"supervisor", "admin_user"}),
    "import_errors": ("customers.import_customers", False, {"supervisor", "admin_user"}),
    "export": ("customers.export_customers", False, {"supervisor", "manager", "admin_user"}),
    "access_log": ("core.view_accesslog", False, {"supervisor", "manager", "admin_user"}),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    return settings.MEDIA_ROOT


@pytest.fixture
def attachment(customer, agent):
    upload = SimpleUploadedFile("合同.pdf", PDF, content_type="application/pdf")
    return services.attachment_add(actor=agent, customer=customer, upload=upload, kind="contract")


@pytest.fixture
def error_token(media):
    return excel.save_error_sheet([excel.RowError("客户", 2, "电话", "电话号码格式不正确")])


def _requests(customer, attachment, error_token):
    """page → (method, url, data, where a successful POST goes)."""
    pk = customer.pk
    asset = customer.assets.get()
    phone = customer.phones.get()
    detail = reverse("customers:detail", args=[pk])
    return {
        "list": ("get", reverse("customers:list"), None, None),
        "lookup": ("get", reverse("customers:lookup") + "?q=KH", None, None),
        "create_get": ("get", reverse("customers:create"), None, None),
        "create_post": ("post", reverse("customers:create"),
                        {"party_type": "person", "name": "李新", "kind": "ordinary",
                         "phone": "13900001111"}, "new customer"),
        "detail": ("get", detail, None, None),
        "edit_get": ("get", reverse("customers:edit", args=[pk]), None, None),
        "edit_post": ("post", reverse("customers:edit", args=[pk]),
                      {"party_type": "person", "name": "张三明", "kind": "vip",
                       "notes": "已核对", "version": customer.version}, detail),
        "reveal": ("post", reverse("customers:reveal", args=[pk]),
                   {"field": "phone", "item": phone.pk, "reason": "callback"}, None),
        "phone_add_get": ("get", reverse("customers:phone_add", args=[pk]), None, None),
        "phone_add_post": ("post", reverse("customers:phone_add", args=[pk]),
                           {"number": "13700009999"}, detail),
        "asset_create_get": ("get", reverse("customers:asset_create", args=[pk]), None, None),
        "asset_create_post": ("post", reverse("customers:asset_create", args=[pk]),
                              {"product_model": "EPSON L4150", "serial": "X9"}, detail),
        "asset_edit_get": ("get", reverse("customers:asset_edit", args=[pk, asset.pk]), None,
                           None),
        "asset_edit_post": ("post", reverse("customers:asset_edit", args=[pk, asset.pk]),
                            {"product_model": "EPSON L3150", "serial": asset.serial,
                             "notes": "换过墨盒", "version": asset.version}, detail),
        "attachment_upload_get": ("get", reverse("customers:attachment_upload", args=[pk]),
                                  None, None),
        "attachment_upload_post": ("post", reverse("customers:attachment_upload", args=[pk]),
                                   {"kind": "invoice",
                                    "file": SimpleUploadedFile("发票.pdf", PDF)}, detail),
        "attachment_download": ("get", reverse("customers:attachment", args=[pk, attachment.pk]),
                                None, None),
        "import_get": ("get", reverse("customers:import"), None, None),
        "import_post": ("post", reverse("customers:import"),
                        {"file": SimpleUploadedFile("客户.xlsx", excel.template_bytes())}, None),
        "import_template": ("get", reverse("customers:import_template"), None, None),
        "import_errors": ("get", reverse("customers:import_errors", args=[error_token]), None,
                          None),
        "export": ("get", reverse("customers:export"), None, None),
        "access_log": ("get", reverse("core:access_log"), None, None),
    }


def expected_status(role, page):
    perm, scoped, allowed = PAGES[page]
    if role == "anonymous":
        return 302
    if role == "other_region_engineer" and scoped:
        return 404
    return 200 if role in allowed else 403


def _state(customer):
    customer.refresh_from_db()
    return {
        "customers": Customer.objects.count(), "phones": Phone.objects.count(),
        "assets": Asset.objects.count(), "attachments": Attachment.objects.count(),
        "access_log": AccessLog.objects.count(), "version": customer.version,
        "asset_versions": list(Asset.objects.values_list("version", flat=True)),
    }


def test_the_allowed_roles_are_those_roles_py_grants():
    for page, (perm, _scoped, allowed) in PAGES.items():
        granted = {name for name, code in ROLE_CODES.items() if perm in ROLE_PERMISSIONS[code]}
        assert granted == allowed, page


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_it_answers_each_role_with_the_exact_status(request, customer, attachment, error_token,
                                                   role, page):
    client = Client()
    user = None
    if role != "anonymous":
        user = request.getfixturevalue(role)
        client.force_login(user)
    method, url, data, success = _requests(customer, attachment, error_token)[page]
    before = _state(customer)
    call = getattr(client, method)
    response = call(url, data) if data is not None else call(url)
    expected = expected_status(role, page)
    if expected == 200 and method == "post" and success:
        expected = 302
    if expected == 200 and page == "lookup":
        expected = 302
    assert response.status_code == expected, (role, page, response.content[:500])

    if role == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    if expected in (403, 404):
        body = response.content.decode()
        for leak in LEAKS + [customer.number]:
            assert leak not in body, (role, page, leak)
        assert _state(customer) == before
    if role == "anonymous":
        assert _state(customer) == before
    elif response.status_code == 302 and success == "new customer":
        new = Customer.objects.get(name="李新")
        assert response["Location"] == reverse("customers:detail", args=[new.pk])
    elif response.status_code == 302 and success:
        assert response["Location"] == success
    if expected == 200 and page == "reveal":
        assert response.content.decode().count("13812345678") == 1
        assert AccessLog.objects.get().user == user
    if expected == 200 and page in ("attachment_download", "import_template", "import_errors",
                                    "export"):
        assert response["Content-Disposition"].startswith("attachment;")
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert content.startswith(b"%PDF" if page == "attachment_download" else b"PK")


@pytest.mark.parametrize("page", ["detail", "edit_get", "reveal", "attachment_download"])
def test_an_unknown_customer_is_a_404_for_everyone_allowed(admin_user, customer, attachment,
                                                          error_token, page):
    client = Client()
    client.force_login(admin_user)
    method, url, data, _success = _requests(customer, attachment, error_token)[page]
    url = url.replace(f"/customers/{customer.pk}/", "/customers/999999/")
    response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code == 404


def test_an_asset_or_attachment_of_another_customer_is_a_404(agent, customer, west_customer,
                                                             attachment):
    client = Client()
    client.force_login(agent)
    asset = customer.assets.get()
    other = west_customer.pk
    assert client.get(reverse("customers:asset_edit", args=[other, asset.pk])).status_code == 404
    response = client.get(reverse("customers:attachment", args=[other, attachment.pk]))
    assert response.status_code == 404


def test_a_get_on_the_reveal_url_is_refused_not_a_500(agent, customer):
    client = Client()
    client.force_login(agent)
    assert client.get(reverse("customers:reveal", args=[customer.pk])).status_code == 405
    assert not AccessLog.objects.exists()
