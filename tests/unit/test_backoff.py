import itertools

import pytest

from ari.backoff import Backoff


def test_exponential_and_capped_without_jitter():
    policy = Backoff(initial=0.5, maximum=4.0, factor=2.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_uses_the_injected_random_source():
    values = itertools.cycle([0.0, 1.0, 0.5])
    policy = Backoff(initial=1.0, maximum=10.0, jitter=0.5, random=lambda: next(values))
    assert policy.delay(1) == 1.0
    assert policy.delay(2) == 1.0  # 2 * (1 - 0.5)
    assert policy.delay(3) == 3.0  # 4 * (1 - 0.25)


def test_jitter_never_exceeds_the_maximum():
    policy = Backoff(initial=1.0, maximum=2.0, jitter=1.0, random=lambda: 0.0)
    assert max(policy.delay(n) for n in range(1, 100)) == 2.0


def test_forever_by_default_and_bounded_when_asked():
    assert not Backoff().exhausted(10**9)
    policy = Backoff(initial=0.1, max_retries=3, jitter=0)
    assert [policy.exhausted(n) for n in (1, 3, 4)] == [False, False, True]
    assert list(policy.delays()) == pytest.approx([0.1, 0.2, 0.4])


def test_immutable_value_object():
    policy = Backoff()
    with pytest.raises(AttributeError):
        policy.initial = 3  # type: ignore[misc]
    assert policy.with_options(initial=2.0).initial == 2.0
    assert policy.with_options(initial=0.5) == policy


def test_huge_attempt_numbers_do_not_overflow():
    assert Backoff(maximum=30.0, jitter=0).delay(10_000) == 30.0


@pytest.mark.parametrize("options", [{"initial": -1}, {"factor": 0.5}, {"jitter": 2}, {"max_retries": -1}])
def test_rejects_nonsense(options):
    with pytest.raises(ValueError):
        Backoff(**options)


def test_attempts_start_at_one():
    with pytest.raises(ValueError):
        Backoff().delay(0)
