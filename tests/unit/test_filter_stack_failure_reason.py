"""stack_failure_reason: site.yml's one-line reason for a failed host never repeats what no_log hid."""

from __future__ import annotations

from ansible_collections.data2ai.grafana_stack.plugins.filter.stack_failure_reason import (
    HIDDEN,
    stack_failure_reason,
)

SECRET = "gsttest-marker-s3cret"


def test_message_and_stderr_of_a_plain_failure_are_joined() -> None:
    result = {"failed": True, "msg": "non-zero return code", "stderr": "psql: connection refused"}
    reason = stack_failure_reason(result, {"name": "x", "no_log": False})
    assert reason == "non-zero return code: psql: connection refused"


def test_the_first_failed_loop_item_gives_the_reason() -> None:
    result = {"failed": True, "msg": "One or more items failed",
              "results": [{"failed": False, "msg": "ok"}, {"failed": True, "msg": "item two broke", "stderr": ""}]}
    assert stack_failure_reason(result, {}) == "item two broke"


def test_a_no_log_task_keeps_its_output_hidden() -> None:
    result = {"failed": True, "msg": "non-zero return code", "stderr": f"password {SECRET} refused"}
    assert stack_failure_reason(result, {"name": "Set the password", "no_log": True}) == HIDDEN


def test_a_result_marked_no_log_keeps_its_output_hidden_whatever_the_task_says() -> None:
    result = {"failed": True, "stderr": SECRET, "_ansible_no_log": True}
    assert stack_failure_reason(result, {}) == HIDDEN


def test_a_no_log_loop_item_keeps_its_output_hidden() -> None:
    result = {"failed": True, "msg": "One or more items failed",
              "results": [{"failed": True, "stderr": SECRET, "_ansible_no_log": True}]}
    assert stack_failure_reason(result, {}) == HIDDEN


def test_a_result_without_message_says_so() -> None:
    assert stack_failure_reason({"failed": True}, {}) == "no message"
    assert stack_failure_reason(None) == "no message"
