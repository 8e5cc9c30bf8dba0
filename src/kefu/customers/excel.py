"""Excel import/export of customers and assets (being written)."""


def template_bytes():
    raise NotImplementedError


def import_customers(fileobj, *, actor, all_or_nothing=False, progress=None):
    raise NotImplementedError


def save_error_sheet(errors):
    raise NotImplementedError


def error_sheet_path(token):
    raise NotImplementedError


def export_bytes(queryset):
    raise NotImplementedError
