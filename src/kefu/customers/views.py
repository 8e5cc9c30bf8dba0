"""Customer archive pages. Thin: parse → access helper → service → render."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from kefu.core.access import export_logged
from kefu.core.errors import DomainError, ValidationFailed
from kefu.customers import excel, services
from kefu.customers.forms import (
    AssetForm,
    AttachmentForm,
    CustomerCreateForm,
    CustomerForm,
    ImportForm,
    PhoneForm,
    RevealForm,
    SearchForm,
)
from kefu.customers.models import Asset, Attachment, Customer
from kefu.customers.queries import (
    filter_customers,
    get_customer_for_user,
    keyset_page,
    search,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Where a service's field name differs from the form's (the create form has one phone and one
# address box; the service takes lists).
FORM_FIELD_FOR = {"phones": "phone", "addresses": "address"}


def _form_errors(form, exc):
    """Put a service's field errors next to the form's fields (the rest on top)."""
    for name, msgs in exc.fields.items():
        name = name if name in form.fields else FORM_FIELD_FOR.get(name, name)
        for msg in msgs if isinstance(msgs, list | tuple) else [msgs]:
            form.add_error(name if name in form.fields else None, str(msg))
    if not exc.fields:
        form.add_error(None, str(exc.message))


def _posted_version(request):
    """The ``version`` the edit form was loaded with; None when absent or garbled."""
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


MISSING_VERSION = _lazy("页面缺少版本信息，请重新打开编辑页面后再保存。")


def _after(request):
    """The keyset cursor of the list page: a customer id, or None when absent or garbled."""
    raw = request.GET.get("after") or ""
    return int(raw) if raw.isdigit() else None


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request):
    form = SearchForm(request.GET or None)
    qs = Customer.objects.visible_to(request.user).with_list_data()
    recognised = None
    if form.is_bound and not form.is_valid():
        # A filter that cannot be read must not silently list everyone.
        qs = qs.none()
    elif form.is_valid():
        data = form.cleaned_data
        qs = filter_customers(
            qs,
            region=data["region"].pk if data["region"] else None,
            kind=data["kind"],
            created_from=data["created_from"],
            created_to=data["created_to"],
        )
        if data["q"]:
            qs, recognised = search(qs, data["q"])
    after = _after(request)
    rows, next_after = keyset_page(qs, after=after)
    if len(rows) == 1 and recognised and recognised.kind != "text" and not after:
        # One-step caller lookup: a phone/VIN/number that matches one customer opens it.
        url = reverse("customers:detail", args=[rows[0].pk])
        if request.htmx:
            # A plain redirect would be followed by the XHR and the whole detail page swapped
            # into the results table.
            return HttpResponseClientRedirect(url)
        return redirect(url)
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "form": form,
        "customers": rows,
        "next_after": next_after,
        "query": query.urlencode(),
        "recognised": recognised,
    }
    if request.htmx and request.htmx.target == "customer-results":
        return render(request, "customers/list.html#results", context)
    return render(request, "customers/list.html", context)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def lookup(request):
    """The agent's one box in the navigation bar: same as the list's search."""
    return redirect(f"{reverse('customers:list')}?{urlencode({'q': request.GET.get('q', '')})}")


def _detail_context(request, customer):
    return {
        "customer": customer,
        "contacts": customer.contacts.all(),
        "phones": customer.phones.select_related("contact"),
        "addresses": customer.addresses.all(),
        "assets": customer.assets.all(),
        "attachments": customer.attachments.all(),
        "tags": customer.tags.all(),
        "events": customer.events.select_related("actor", "actor__staff")[:50],
        "history_sections": _history_sections(customer),
        "reveal_form": RevealForm(),
        "can_reveal": request.user.has_perm("customers.reveal_customer_pii"),
        "can_edit": request.user.has_perm("customers.change_customer"),
        "can_upload": request.user.has_perm("customers.add_attachment"),
        "today": timezone.localdate(),
    }


def _history_sections(customer):
    """The history panel (A4). Each later module registers what it knows about a customer;
    until then the panel lists the archive's own events."""
    from kefu.customers.history import sections_for

    return sections_for(customer)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request, pk):
    customer = get_customer_for_user(request.user, pk)
    return render(request, "customers/detail.html", _detail_context(request, customer))


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request):
    form = CustomerCreateForm(request.POST or None, initial={
        "kind": Customer.Kind.ORDINARY, "phone": request.GET.get("phone", "")[:32]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = services.customer_create(
                actor=request.user,
                name=data["name"],
                party_type=data["party_type"],
                kind=data["kind"],
                outlet_level=data["outlet_level"],
                region=data["region"],
                birthday=data["birthday"],
                id_number=data["id_number"],
                notes=data["notes"],
                tags=data["tags"].replace("，", ",").split(","),
                contacts=[{"name": data["contact_name"], "role": data["contact_role"],
                           "phones": [data["phone"]], "is_primary": True}]
                if data["contact_name"] else [],
                phones=[] if data["contact_name"] else [data["phone"]],
                addresses=[data["address"]],
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request,
                             _("已建立客户档案 %(number)s。") % {"number": customer.number})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {"form": form, "title": _("新建客户")})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_edit(request, pk):
    customer = get_customer_for_user(request.user, pk, "customers.change_customer")
    initial = {
        "party_type": customer.party_type, "name": customer.name, "kind": customer.kind,
        "outlet_level": customer.outlet_level, "region": customer.region,
        "birthday": customer.birthday, "notes": customer.notes,
        "tags": ", ".join(customer.tags.values_list("name", flat=True)),
    }
    form = CustomerForm(request.POST or None, initial=initial)
    version = _posted_version(request)
    if request.method == "POST" and version is None:
        form.add_error(None, MISSING_VERSION)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {k: data[k] for k in ("party_type", "name", "kind", "outlet_level", "region",
                                        "birthday", "notes")}
        if data["id_number"]:
            changes["id_number"] = data["id_number"]
        try:
            services.customer_update(
                actor=request.user, customer=customer, version=version,
                tags=data["tags"].replace("，", ",").split(","), **changes,
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {
        "form": form, "customer": customer,
        "title": _("编辑客户 %(number)s") % {"number": customer.number},
    })


@login_required
@permission_required("customers.view_customer", raise_exception=True)
@require_POST
@never_cache  # the answer is a value in clear
def reveal(request, pk):
    """htmx: show one masked value in clear, after logging who, what and why.

    A missing reason re-shows the small form with the message (400); no permission is a 403 and
    an unknown phone or address a 404 (DomainErrorMiddleware), never a value.
    """
    customer = get_customer_for_user(request.user, pk, "customers.reveal_customer_pii")
    form = RevealForm(request.POST)
    if form.is_valid():
        try:
            value = services.customer_reveal(
                actor=request.user, customer=customer, field=form.cleaned_data["field"],
                item_id=form.cleaned_data["item"], reason=form.reason_value(),
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ValidationFailed as exc:
            error = exc.message
        else:
            return render(request, "customers/detail.html#revealed",
                          {"value": value, "field": form.cleaned_data["field"]})
    else:
        error = _("请求无效。")
    return render(request, "customers/detail.html#reveal_button", {
        "customer": customer, "can_reveal": True, "reveal_form": RevealForm(),
        "rfield": request.POST.get("field", ""), "ritem": request.POST.get("item", ""),
        "error": error,
    }, status=400)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def phone_add(request, pk):
    customer = get_customer_for_user(request.user, pk, "customers.change_customer")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_add_phone(actor=request.user, customer=customer,
                                        number=form.cleaned_data["number"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已添加电话。"))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/simple_form.html",
                  {"form": form, "customer": customer, "title": _("添加电话")})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def asset_create(request, pk):
    customer = get_customer_for_user(request.user, pk, "customers.add_asset")
    form = AssetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.asset_create(actor=request.user, customer=customer, **data)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已登记设备。"))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/simple_form.html",
                  {"form": form, "customer": customer, "title": _("登记设备")})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def asset_edit(request, pk, asset_id):
    customer = get_customer_for_user(request.user, pk, "customers.change_asset")
    asset = Asset.objects.filter(customer=customer, pk=asset_id).first()
    if asset is None:
        raise Http404
    form = AssetForm(request.POST or None, initial=AssetForm.initial_from(asset))
    version = _posted_version(request)
    if request.method == "POST" and version is None:
        form.add_error(None, MISSING_VERSION)
    if request.method == "POST" and form.is_valid():
        try:
            services.asset_update(actor=request.user, asset=asset, version=version,
                                  **form.cleaned_data)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/simple_form.html",
                  {"form": form, "customer": customer, "version": asset.version,
                   "title": _("编辑设备 %(asset)s") % {"asset": asset}})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def attachment_upload(request, pk):
    customer = get_customer_for_user(request.user, pk, "customers.add_attachment")
    form = AttachmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.attachment_add(actor=request.user, customer=customer,
                                    upload=form.cleaned_data["file"],
                                    kind=form.cleaned_data["kind"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已上传附件。"))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/simple_form.html",
                  {"form": form, "customer": customer, "title": _("上传附件"), "multipart": True})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def attachment_download(request, pk, attachment_id):
    customer = get_customer_for_user(request.user, pk, "customers.view_attachment")
    attachment = Attachment.objects.filter(customer=customer, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None  # the row outlived its file (restored database, lost disk)
    response = FileResponse(handle, content_type=attachment.content_type,
                            as_attachment=True, filename=attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_page(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    error_token = None
    if request.method == "POST" and form.is_valid():
        try:
            result = excel.import_customers(
                form.cleaned_data["file"], actor=request.user,
                all_or_nothing=form.cleaned_data["all_or_nothing"],
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            if result.errors:
                error_token = excel.save_error_sheet(result.errors)
    return render(request, "customers/import.html",
                  {"form": form, "result": result, "error_token": error_token})


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_template(request):
    response = HttpResponse(excel.template_bytes(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="kefu-customers-template.xlsx"'
    return response


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_errors(request, token):
    path = excel.error_sheet_path(token)
    if path is None:
        raise Http404
    response = HttpResponse(path.read_bytes(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="kefu-import-errors.xlsx"'
    return response


@login_required
@permission_required("customers.export_customers", raise_exception=True)
@never_cache
def export(request):
    """The file holds phones, ID numbers and addresses in clear: every export is logged."""
    qs = Customer.objects.visible_to(request.user)
    content = excel.export_bytes(qs)
    export_logged(user=request.user, model=Customer, count=qs.count(),
                  ip_address=request.META.get("REMOTE_ADDR"))
    response = HttpResponse(content, content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="kefu-customers-{stamp}.xlsx"'
    return response
