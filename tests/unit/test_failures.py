from runtime.failures import describe_failure


def raised(error: Exception) -> Exception:
    try:
        raise error
    except Exception as caught:
        return caught


def test_a_failure_is_described_by_its_type_and_place_not_its_message():
    described = describe_failure(raised(KeyError("linh@example.org")))
    assert described.startswith("KeyError\n")
    assert "linh@example.org" not in described
    assert "test_failures.py" in described, "where it happened is kept"


def test_an_infrastructure_failure_keeps_its_message():
    described = describe_failure(raised(ConnectionRefusedError("connect 127.0.0.1:9092")))
    assert described.startswith("ConnectionRefusedError: connect 127.0.0.1:9092")
