"""The object-model surgery: how each kind of live object takes its new version."""
