/* schedule.h - the built-in schedules of configs evaluated in C, with the formulas of
 * lua/peft/schedule.lua (t counts units from 0; total is the units of the run):
 *   constant v;  linear / cosine from a to b after a warm-up 0 -> a over w units;
 *   step a * gamma ^ floor(t / every).  Custom schedules need the Lua policy state. */
#ifndef PF_SCHEDULE_H
#define PF_SCHEDULE_H

#include "script/script_config.h"

/* NaN for CFG_SCHED_CUSTOM. */
double sched_eval(const struct cfg_schedule *s, double t, double total);

#endif
