"""fuzz_target: one libFuzzer target and its seed regression test.

`fuzz_target(name = "urn_fuzzer", ...)` makes:
  - `urn_fuzzer`: with `--config=fuzz` (clang) a libFuzzer binary; otherwise
    the same entry point behind a small main that runs the given inputs once;
  - `urn_fuzzer_seeds_test`: runs every file of corpus/urn_fuzzer/ once, in
    every configuration (the normal build, ASan+UBSan, TSan).
"""

def fuzz_target(name, srcs, deps = []):
    native.cc_binary(
        name = name,
        srcs = srcs,
        linkopts = select({
            "//fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "//fuzz:libfuzzer": [],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
        tags = ["fuzz_target"],
    )
    corpus = native.glob(["corpus/%s/*" % name])
    native.cc_test(
        name = name + "_seeds_test",
        size = "small",
        srcs = srcs,
        args = ["$(location %s)" % f for f in corpus],
        data = corpus,
        deps = deps + ["//fuzz:replay_main"],
    )
