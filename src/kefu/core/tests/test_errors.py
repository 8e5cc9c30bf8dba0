from kefu.core.errors import Conflict, DomainError, InvalidTransition, NotFound, ValidationFailed


def test_it_carries_code_status_and_fields():
    exc = ValidationFailed(fields={"name": ["请填写客户名称。"]})
    assert exc.as_dict() == {
        "code": "validation_failed",
        "message": str(ValidationFailed.default_message),
        "fields": {"name": ["请填写客户名称。"]},
    }
    assert exc.status == 422


def test_each_subclass_has_its_own_code_and_status():
    pairs = {(cls.code, cls.status) for cls in (NotFound, Conflict, InvalidTransition, ValidationFailed)}
    assert pairs == {("not_found", 404), ("conflict", 409), ("invalid_transition", 409), ("validation_failed", 422)}
    assert issubclass(Conflict, DomainError)


def test_message_is_translatable():
    from django.utils import translation

    with translation.override("en"):
        english = str(NotFound().message)
    with translation.override("zh-hans"):
        chinese = str(NotFound().message)
    assert chinese == "找不到该记录，或您无权查看。"
    assert english != chinese


def test_a_request_django_refuses_gets_the_api_error_shape_under_api(client):
    """A Host outside ALLOWED_HOSTS is refused by Django before any view (found by the fuzzer)."""
    response = client.get("/api/v1/tickets", headers={"Host": "evil.example.com"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and response.json()["message"]
    page = client.get("/tickets/", headers={"Host": "evil.example.com"})
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
