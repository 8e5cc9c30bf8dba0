import os

# Tests run in "test" mode: Huey immediate, generated dev keys in a throwaway data dir.
os.environ.setdefault("KEFU_MODE", "test")
os.environ.setdefault("KEFU_DATA_DIR", os.path.join(os.path.dirname(__file__), "var", "test"))
