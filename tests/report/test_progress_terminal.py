"""Terminal output: stage bars with their figures, library chatter to the log file, the no-signal warning."""

from __future__ import annotations

import logging
import warnings

from agentgym.progress import StageBar, end_table, quiet_libraries, train_progress_callback


def test_library_chatter_goes_to_the_log_file(tmp_path, capfd):
    log = tmp_path / "run" / "train.log"
    before = warnings.showwarning
    with quiet_libraries(log):
        warnings.warn("`foo` is deprecated and will be removed", FutureWarning)
        logging.getLogger("transformers.modeling_utils").warning("Some weights were not initialized")
        logging.getLogger("trl").info("ignored below the logger's level")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    text = log.read_text()
    assert "FutureWarning: `foo` is deprecated" in text and "Some weights were not initialized" in text
    assert warnings.showwarning is before  # restored
    logging.getLogger("transformers.modeling_utils").warning("after the block")
    assert "after the block" not in log.read_text()


def test_verbose_leaves_everything_on_the_terminal(tmp_path):
    before = warnings.showwarning
    with quiet_libraries(tmp_path / "train.log", verbose=True):
        assert warnings.showwarning is before
        logging.getLogger("transformers").warning("shown")
    assert not (tmp_path / "train.log").exists()


def test_stage_bar_shows_stage_figures_and_remaining_time(capfd):
    with StageBar("eval before", total=4) as bar:
        bar.update(2, success=0.5, reward=0.25)
        bar.update(2, success=0.75, reward=0.5)
    err = capfd.readouterr().err
    assert "eval before" in err and "4/4" in err and "success 0.75" in err and "reward 0.5" in err


def test_train_callback_one_bar_no_dicts_and_the_no_signal_warning(tmp_path, capfd):
    from transformers import TrainerControl, TrainerState, TrainingArguments

    log = tmp_path / "train.log"
    cb = train_progress_callback(log, stage="GRPO")
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    state, control = TrainerState(max_steps=8), TrainerControl()
    cb.on_train_begin(args, state, control)
    for step in range(1, 9):
        state.global_step = step
        cb.on_step_end(args, state, control)
        cb.on_log(args, state, control, logs={"loss": 0.0, "reward": 0.0, "frac_reward_zero_std": 1.0,
                                              "agentgym/success": 0.0, "agentgym/tool_calls": 3.0,
                                              "completions/mean_length": 17.0})
    cb.on_train_end(args, state, control)
    out, err = capfd.readouterr()
    assert "{'loss'" not in out + err and "completions/mean_length" not in out + err
    assert "GRPO" in err and "8/8" in err and "tools 3" in err and "zero-std 1" in err
    assert err.count("no learning signal for 5 steps") == 1 and "SFT checkpoint" in err
    assert len(cb.warnings) == 1
    assert log.read_text().count('"completions/mean_length": 17.0') == 8


def test_end_table_names_the_files():
    text = end_table([("success", "40.6% -> 62.5%")], [("report", "runs/x/report.html")])
    assert text.splitlines() == ["success  40.6% -> 62.5%", "", "report   runs/x/report.html"]


def test_eval_bar_shows_success_reward_and_tool_calls(tmp_path, capfd):
    import agentgym
    from agentgym.policies.simple import OraclePolicy

    agentgym.run("toy/maze", OraclePolicy(), episodes=4, concurrency=2, out=tmp_path / "run")
    err = capfd.readouterr().err
    assert "eval: 100%" in err and "4/4" in err and "success 1.00" in err and "reward 1" in err and "tools " in err
    assert "errors 0" in err


def test_eval_cli_says_how_to_look_at_the_run(tmp_path, capsys):
    from agentgym.cli import main

    assert main(["eval", "toy/maze", "--policy", "oracle", "--episodes", "2", "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 0
    assert f"agentgym view {tmp_path / 'r'}" in capsys.readouterr().out
