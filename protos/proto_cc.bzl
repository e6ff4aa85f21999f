"""cc_grpc_proto: C++ messages and gRPC stubs from .proto files.

Runs Debian's /usr/bin/protoc with /usr/bin/grpc_cpp_plugin in a genrule
instead of the native proto_library (which would need a com_google_protobuf
repository). Paths of the .proto files are taken relative to this package
(`protos/`), so `protos/followgate/v1/x.proto` yields
`#include "followgate/v1/x.pb.h"` and `"followgate/v1/x.grpc.pb.h"`.
Well-known types (google/protobuf/*.proto) resolve from /usr/include.
"""

_PROTOC = "/usr/bin/protoc"
_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def cc_grpc_proto(name, srcs, deps = [], visibility = None, **kwargs):
    """Declares cc_library `name` with messages and stubs for `srcs`.

    Args:
      name: name of the resulting cc_library.
      srcs: .proto files of this package (e.g. "followgate/v1/follows.proto").
      deps: cc_grpc_proto targets of this package whose .proto files `srcs`
        import (only this package is on protoc's import path).
      visibility: visibility of the cc_library.
      **kwargs: passed to the cc_library (e.g. testonly, tags).
    """
    bases = []
    for src in srcs:
        if not src.endswith(".proto"):
            fail("cc_grpc_proto: %s is not a .proto file" % src)
        bases.append(src[:-len(".proto")])

    hdrs = []
    cc_srcs = []
    for base in bases:
        hdrs += [base + ".pb.h", base + ".grpc.pb.h"]
        cc_srcs += [base + ".pb.cc", base + ".grpc.pb.cc"]

    pkg = native.package_name()

    # Imported .proto files from other cc_grpc_proto targets in this package.
    dep_protos = [d + "_protos" for d in deps]

    native.filegroup(
        name = name + "_protos",
        srcs = srcs + dep_protos,
        visibility = visibility,
    )

    native.genrule(
        name = name + "_gen",
        srcs = srcs + dep_protos,
        outs = hdrs + cc_srcs,
        cmd = " ".join([
            _PROTOC,
            "-I" + pkg,
            "-I/usr/include",
            "--cpp_out=$(RULEDIR)",
            "--grpc_out=$(RULEDIR)",
            "--plugin=protoc-gen-grpc=" + _GRPC_PLUGIN,
        ] + ["$(location %s)" % s for s in srcs]),
        message = "protoc (C++/gRPC) for %s" % name,
    )

    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        # Generated headers sit under bazel-bin/protos/; expose them as
        # "followgate/v1/...".
        strip_include_prefix = "/" + pkg,
        deps = deps + [
            "//third_party:grpc",
            "//third_party:protobuf",
        ],
        visibility = visibility,
        **kwargs
    )

def cc_system_proto(name, root, protos, grpc = False, visibility = None):
    """Declares cc_library `name` for .proto files installed on the system.

    Args:
      name: name of the resulting cc_library.
      root: the import root they live under, e.g. "/usr/share/grpc-proto".
      protos: their paths below `root`, e.g. ["grpc/health/v1/health.proto"].
      grpc: also generate gRPC stubs.
      visibility: visibility of the cc_library.
    """
    hdrs = []
    cc_srcs = []
    for proto in protos:
        base = proto[:-len(".proto")]
        hdrs.append(base + ".pb.h")
        cc_srcs.append(base + ".pb.cc")
        if grpc:
            hdrs.append(base + ".grpc.pb.h")
            cc_srcs.append(base + ".grpc.pb.cc")
    native.genrule(
        name = name + "_gen",
        outs = hdrs + cc_srcs,
        cmd = " ".join([
            _PROTOC,
            "-I" + root,
            "-I/usr/include",
            "--cpp_out=$(RULEDIR)",
        ] + ([
            "--grpc_out=$(RULEDIR)",
            "--plugin=protoc-gen-grpc=" + _GRPC_PLUGIN,
        ] if grpc else []) + [root + "/" + p for p in protos]),
        message = "protoc (C++) for %s" % name,
    )
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        strip_include_prefix = "/" + native.package_name(),
        visibility = visibility,
        deps = ["//third_party:grpc", "//third_party:protobuf"],
    )
