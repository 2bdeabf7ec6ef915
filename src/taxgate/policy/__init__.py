"""The agreement's terms as a versioned TOML file that every stage, CLI and service alike, reads."""

from taxgate.policy.model import Policy, default_policy_path, load_policy

__all__ = ["Policy", "default_policy_path", "load_policy"]
