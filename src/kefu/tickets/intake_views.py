"""来电受理 and 新建工单: the phone-call screen (number → customer card → prefilled ticket →
saved in one step) and the new-ticket form it shares with the customer page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from kefu.core.crypto import normalize_phone, phone_index
from kefu.core.errors import DomainError, NotFound, ValidationFailed
from kefu.customers.models import Customer
from kefu.customers.queries import get_customer_for_user
from kefu.tickets import services
from kefu.tickets.forms import TicketCreateForm
from kefu.tickets.models import Channel, Priority, Ticket
from kefu.tickets.views import form_errors

RECENT_CLOSED = 5


def _matching_contact(customer, phone):
    """The contact whose number the caller dialled from, if the number is a contact's."""
    if not phone:
        return None
    match = customer.phones.filter(number_index=phone_index(phone), contact__isnull=False).first()
    return match.contact_id if match else None


def _initial(customer, phone=""):
    initial = {
        "channel": Channel.objects.filter(code="phone", is_active=True).first(),
        "priority": Priority.objects.filter(code="normal", is_active=True).first(),
        "contact": _matching_contact(customer, phone),
    }
    assets = customer.assets.all()[:2]
    if len(assets) == 1:
        initial["asset"] = assets[0].pk
    return initial


def _card(user, customer):
    """What the agent needs on the call: the masked card, assets with warranty, open tickets
    and the last closed ones (only tickets the agent may see)."""
    tickets = Ticket.objects.visible_to(user).filter(customer=customer).select_related(
        "priority", "ticket_type", "owner__staff")
    return {
        "customer": customer,
        "phones": customer.phones.select_related("contact"),
        "contacts": customer.contacts.all(),
        "assets": customer.assets.all(),
        "open_tickets": tickets.open().order_by("resolve_due_at", "id")[:20],
        "recent_tickets": tickets.exclude(status__in=Ticket.OPEN_STATUSES).order_by("-created_at")[:RECENT_CLOSED],
    }


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
def call_intake(request):
    """Type the caller's number: one customer → their card and a prefilled ticket; several →
    a choice; none → the way to a new customer with the number. htmx swaps only the result."""
    raw = (request.GET.get("phone") or "").strip()
    context = {"phone": raw, "matches": None, "error": ""}
    status = 200
    chosen = request.GET.get("customer") or ""
    try:
        phone = normalize_phone(raw) if raw else ""
        if chosen.isdigit():
            customer = get_customer_for_user(request.user, int(chosen))
            context["matches"] = [customer]
        elif phone:
            context["matches"] = list(
                Customer.objects.visible_to(request.user)
                .filter(phones__number_index=phone_index(phone))
                .select_related("region").distinct()[:20])
    except ValidationFailed as exc:
        context["error"] = str(exc.message)
        status = 400
    except NotFound:
        context["error"] = _("找不到这个客户，或您无权查看。")
        status = 404
    else:
        if context["matches"] is not None and len(context["matches"]) == 1:
            customer = context["matches"][0]
            context.update(_card(request.user, customer))
            context["form"] = TicketCreateForm(customer=customer, initial=_initial(customer, phone))
        context["new_customer_url"] = f"{reverse('customers:create')}?{urlencode({'phone': raw})}"
    template = "tickets/call.html#result" if request.htmx and request.htmx.target == "call-result" \
        else "tickets/call.html"
    return render(request, template, context, status=status)


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
def ticket_new(request):
    """新建工单 for one customer (from the call screen or the customer page): saved in one step.
    A double submit returns the ticket the first click created (the form's token is the
    idempotency key)."""
    source = request.POST if request.method == "POST" else request.GET
    raw_customer = str(source.get("customer") or "")
    if not raw_customer.isdigit():
        messages.error(request, _("请先找到客户，再新建工单。"))
        return redirect("tickets:call")
    customer = get_customer_for_user(request.user, int(raw_customer))
    if request.method != "POST":
        form = TicketCreateForm(customer=customer, initial=_initial(customer))
        return render(request, "tickets/new.html", {"form": form, **_card(request.user, customer)})
    form = TicketCreateForm(request.POST, customer=customer)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user, customer=customer, channel=data["channel"],
                ticket_type=data["ticket_type"], priority=data["priority"], subject=data["subject"],
                description=data["description"], contact=form.contacts.get(data["contact"]),
                asset=form.assets.get(data["asset"]), department=data["department"],
                service_mode=data["service_mode"], occurred_at=data["occurred_at"],
                environment=data["environment"], error_shown=data["error_shown"],
                customer_expects_at=data["customer_expects_at"],
                idempotency_key=f"form:{data['form_token']}",
            )
        except DomainError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已受理工单 %(number)s。") % {"number": ticket.number})
            return redirect("tickets:detail", pk=ticket.pk)
    return render(request, "tickets/new.html", {"form": form, **_card(request.user, customer)},
                  status=status)
