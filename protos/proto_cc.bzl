"""cc_grpc_proto: C++ messages and gRPC stubs (separate targets) from .proto files.

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
    """Declares the messages and the gRPC stubs of `srcs` as two cc_libraries.

    `x_cc_proto` holds the messages (public: any layer may use them);
    `name` (`x_cc_grpc`) holds the stubs and is visible to `visibility` only,
    so that core code cannot depend on gRPC.

    Args:
      name: name of the stubs' cc_library; must end with "_cc_grpc".
      srcs: .proto files of this package (e.g. "followgate/v1/follows.proto").
      deps: cc_grpc_proto targets of this package whose .proto files `srcs`
        import (only this package is on protoc's import path).
      visibility: visibility of the stubs' cc_library.
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

    msg_name = messages_name(name)
    native.cc_library(
        name = msg_name,
        srcs = [b + ".pb.cc" for b in bases],
        hdrs = [b + ".pb.h" for b in bases],
        # Generated headers sit under bazel-bin/protos/; expose them as
        # "followgate/v1/...".
        strip_include_prefix = "/" + pkg,
        deps = [messages_name(d) for d in deps] + ["//third_party:protobuf"],
        visibility = ["//visibility:public"],
        **kwargs
    )

    native.cc_library(
        name = name,
        srcs = [b + ".grpc.pb.cc" for b in bases],
        hdrs = [b + ".grpc.pb.h" for b in bases],
        strip_include_prefix = "/" + pkg,
        deps = [":" + msg_name] + deps + [
            "//third_party:grpc",
            "//third_party:protobuf",
        ],
        visibility = visibility,
        **kwargs
    )

def messages_name(grpc_name):
    """The messages-only target of cc_grpc_proto `grpc_name` (x_cc_grpc: x_cc_proto)."""
    if grpc_name.startswith(":"):
        grpc_name = grpc_name[1:]
    if not grpc_name.endswith("_cc_grpc"):
        fail("cc_grpc_proto: name %s must end with _cc_grpc" % grpc_name)
    return grpc_name[:-len("_cc_grpc")] + "_cc_proto"

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
