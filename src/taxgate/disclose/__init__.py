"""The signed response: outcomes for every subject and, for confirmed ones, only the last known address."""  # noqa: E501
