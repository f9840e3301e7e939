/* search_session.h - a session folder's set-up files (search_session.c). */
#ifndef PF_SEARCH_SESSION_H
#define PF_SEARCH_SESSION_H

#include <stddef.h>

#include "script/script_config.h"
#include "util/err.h"

/* The folder of a new session: `given`, which must not hold a session yet, or
 * <cfg.session>/<task>-<method>-<YYYYmmdd-HHMMSS>[-N]. Created (with parents). */
pf_status search_session_dir(const struct run_config *cfg, const char *method,
                             const char *given, char *dir, size_t n, struct pf_err *err);

/* DIR/config.lua (loadable; every path absolute; the policy copied to DIR/policy.lua and named
 * by absolute path), DIR/config.json; checked to load back to the same values. Custom Lua
 * schedules are refused (a session must be resumable from its own files). */
pf_status search_session_write_config(const struct run_config *cfg, const char *dir,
                                      struct pf_err *err);

/* The policy file cfg names, as an absolute path (resolved against the config's folder like
 * script_policy_load does), or "default" for the built-in policy: where a policy reload reads
 * from. */
pf_status search_session_policy_source(const struct run_config *cfg, char *out, size_t n,
                                       struct pf_err *err);

#endif
