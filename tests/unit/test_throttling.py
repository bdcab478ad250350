"""Login throttling's arithmetic (pure): sliding windows and when an attempt is allowed again.

The throttle itself is in tests/api/test_login_throttle.py (device tokens) and
tests/integration/test_login_throttle_concurrency.py (atomic reservation).
"""

from chalicelib.throttling import Window, retry_after, room

W = 900


def test_the_previous_window_weighs_by_how_much_of_it_is_still_inside_the_last_window():
    window = Window.at(9_000 + 300, W)  # a third into the current window
    assert window.start == 9_000 and window.previous_start == 8_100
    assert room(5, previous=0, window=window, now=9_300) == 5
    assert room(5, previous=3, window=window, now=9_300) == 3  # 3 * 2/3 = 2 still count
    assert room(5, previous=5, window=window, now=9_000) == 0  # at the boundary, all of it counts
    assert room(5, previous=5, window=window, now=9_000 + 899) == 4


def test_retry_after_is_the_first_second_an_attempt_is_allowed_again():
    window = Window.at(9_000, W)
    # Full in the current window: wait into the next one until 4 of 5 carried attempts remain.
    wait = retry_after(5, previous=0, current=5, window=window, now=9_000)
    assert wait == 900 + 180
    later = Window.at(9_000 + wait, W)
    assert room(5, previous=5, window=later, now=9_000 + wait) == 1
    assert room(5, previous=5, window=later, now=9_000 + wait - 1) == 0
    # Limited by the previous window only: wait until its weight leaves one free slot.
    wait = retry_after(5, previous=5, current=0, window=window, now=9_000)
    assert room(5, previous=5, window=window, now=9_000 + wait) == 1
