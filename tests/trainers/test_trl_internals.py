"""The private TRL internals agentgym's trainer overrides are still there, and a change is named clearly."""

import pytest

from agentgym.trainers.grpo_parts import TRL_METHODS, check_trl_internals


def test_installed_trl_has_every_private_hook_agentgym_overrides():
    check_trl_internals()  # fails with "trl X changed private GRPOTrainer internals ..." naming each change


def test_a_changed_hook_is_named_with_the_fix(monkeypatch):
    from trl import GRPOTrainer

    def renamed(self, inputs, prompts, completions):  # a TRL that dropped completion_ids_list
        return None

    monkeypatch.setattr(GRPOTrainer, "_calculate_rewards", renamed)
    monkeypatch.delattr(GRPOTrainer, "_log_metric")
    with pytest.raises(RuntimeError, match=r"_calculate_rewards.*no longer takes.*GRPOTrainer\._log_metric is gone.*"
                                           r"Install the TRL version agentgym supports"):
        check_trl_internals()
    assert "_generate_and_score_completions" in TRL_METHODS
