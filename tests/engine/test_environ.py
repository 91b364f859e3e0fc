"""``keeps_os_environ`` undoes a rebinding of ``os.environ``."""


def test_keeps_os_environ_puts_the_original_object_back() -> None:
    import copy
    import os

    from lmf_engine.util.environ import keeps_os_environ

    original = os.environ

    @keeps_os_environ
    def rebinds() -> str:
        before = copy.deepcopy(os.environ)
        os.environ["LMF_TEST_SET_BY_MAP"] = "false"
        os.environ = before  # noqa: B003 - what datasets' map does with num_proc
        os.environ["LMF_TEST_SET_AFTER"] = "1"
        return "done"

    try:
        assert rebinds() == "done"
        assert os.environ is original
        assert "LMF_TEST_SET_BY_MAP" not in os.environ and os.environ["LMF_TEST_SET_AFTER"] == "1"
    finally:
        os.environ.pop("LMF_TEST_SET_AFTER", None)
