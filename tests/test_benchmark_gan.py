"""The GAN benchmark's protocol: what it refuses, and what each of its configurations changes."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import gan as benchmark  # noqa: E402

from lecturekit.gan import LOSSES, PAPER_DEFAULTS, game_settings  # noqa: E402


def test_unknown_loss_names_are_refused_before_training():
    assert benchmark.parse_losses("minimax, wgan_gp") == ("minimax", "wgan_gp")
    with pytest.raises(ValueError, match="unknown loss name.*'hinge'"):
        benchmark.parse_losses("minimax,hinge")
    with pytest.raises(ValueError, match="--losses"):
        benchmark.parse_losses(" , ")


@pytest.mark.parametrize("loss", LOSSES)
def test_fair_runs_get_the_same_generator_steps_units_and_schedule(loss):
    config = benchmark.fair_config(loss, 3000, lr=1e-3)
    assert config["critic_updates"] // PAPER_DEFAULTS[loss]["n_critic"] == 3000
    assert config["standardize"] is True and config["decay_after"] == 0.5
    game_settings(loss, **{k: v for k, v in config.items() if k in PAPER_DEFAULTS[loss]})  # valid settings


def test_the_sweep_varies_each_penalty_around_the_papers_value():
    for loss, (key, values) in benchmark.PENALTIES.items():
        assert PAPER_DEFAULTS[loss][key] in values and len(set(values)) == 3
    assert 0.1 in benchmark.PENALTIES["wgan_gp"][1]  # gan_toy.py's lambda (Gulrajani et al., 2017)


def test_the_ablation_changes_one_thing_at_a_time_and_all_four_is_the_extension():
    configs = benchmark.ablation_configs(benchmark.FULL)
    plain = configs["plain"]
    assert plain == dict(loss="minimax", critic_updates=8000)
    for name in ("plus_standardised", "plus_decay", "plus_larger_lr", "plus_longer"):
        changed = {k for k in set(configs[name]) | set(plain) if configs[name].get(k) != plain.get(k)}
        assert len(changed) == 1, (name, changed)
    assert configs["all_four"] == dict(loss="minimax", critic_updates=20000, standardize=True, decay_after=0.5,
                                       lr=5e-4)
