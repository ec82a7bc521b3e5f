"""The smallest module that tells its versions apart, for the tests of what reaches an
update (watchers, trust): one function ``value`` answering differently in each version."""

V1 = """
def value():
    return "v1"
"""

V2 = """
def value():
    return "v2 changed"
"""

V3 = """
def value():
    return "v3 changed again"
"""
