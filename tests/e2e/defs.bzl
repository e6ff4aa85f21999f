"""py_unittest: a Python unittest module run against the real binaries."""

_BINARIES = [
    "//client:followgate",
    "//server:followgate_server",
    "//server/sandbox:followgate_sandbox",
]

_PYTHON_LIBS = [
    "//client/python",
    "//protos:py_grpc",
    "//protos:py_system_protos",
    "//tests/e2e:harness.py",
    "//tests/e2e:junit.py",
    "//tests/e2e:postgres.py",
]

def py_unittest(name, src, data = [], size = "medium", **kwargs):
    native.sh_test(
        name = name,
        srcs = ["//tests/e2e:py_unittest.sh"],
        args = ["$(location %s)" % src],
        data = [src] + _BINARIES + _PYTHON_LIBS + data,
        size = size,
        **kwargs
    )
