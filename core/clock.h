/*
 * clock.h - the one clock everything time-dependent in the core reads:
 * schedules, renewals, reminders, windows, lateness, stored times.
 *
 * It is the wall clock, plus an offset that only a daemon started with
 * the test clock enabled (engine key "test_clock") can move forward, so
 * tests can run a simulated year of token lifetimes in seconds. The
 * offset never moves backwards.
 *
 * Calling context: any; the offset is written on the loop thread only.
 */
#ifndef HERALD_CLOCK_H
#define HERALD_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch, as herald sees them. */
int64_t herald_clock_now_ms(void);

/*
 * Moves the clock forward by ms (>= 0). Returns 0, or -EINVAL for a
 * negative step. Only the test clock API calls this.
 */
int herald_clock_advance(int64_t ms);

/* The offset added to the wall clock so far, in milliseconds. */
int64_t herald_clock_offset_ms(void);

#endif
