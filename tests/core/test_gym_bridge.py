from gymnasium.utils.env_checker import check_env

from agentgym.gym_bridge import GymnasiumEnv


def test_gymnasium_check_env_passes():
    env = GymnasiumEnv("toy/maze", size=3)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert "<move>" in obs and env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step("<move>north</move>")
    assert isinstance(reward, float) and "channels" in info
    obs, *_ = env.step("gibberish")
    assert "Error" in obs
    env.close()
