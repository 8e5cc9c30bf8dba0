"""Migration operations of our own."""

from django.db import migrations


class AlterFieldIndex(migrations.AlterField):
    """An ``AlterField`` that only adds or drops a column's index (``db_index``).

    Django's SQLite backend carries out any ``AlterField`` by copying the whole table into a
    new one: dropping the indexes of a one-million-ticket history took six and a half minutes.
    An index is its own object in SQLite too, so here it is dropped or created in place, as the
    other backends do; a change that is more than the index is refused (use AlterField)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        old_model = from_state.apps.get_model(app_label, self.model_name)
        new_model = to_state.apps.get_model(app_label, self.model_name)
        old = old_model._meta.get_field(self.name)
        new = new_model._meta.get_field(self.name)
        if schema_editor.connection.vendor != "sqlite":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if old.deconstruct()[1:] != _with_index(new, old.db_index).deconstruct()[1:]:
            raise ValueError(f"AlterFieldIndex {self.model_name}.{self.name}: more than db_index changes")
        if old.db_index and not new.db_index:
            for name in schema_editor._constraint_names(old_model, [old.column], index=True,
                                                         unique=False, primary_key=False):
                schema_editor.execute(schema_editor._delete_index_sql(old_model, name))
        elif new.db_index and not old.db_index:
            schema_editor.execute(schema_editor._create_index_sql(new_model, fields=[new]))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self.database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Alter the index of field {self.name} on {self.model_name}"


def _with_index(field, db_index):
    clone = field.clone()
    clone.db_index = db_index
    return clone
