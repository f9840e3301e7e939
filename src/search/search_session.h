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

/* An exclusive lock on the session folder (flock on DIR/lock, which holds the owner's pid):
 * *fd is the lock's descriptor, held until it is closed (search_close), and released by the
 * kernel when the process ends however it ends. A second run of the same session (two
 * resumes, or a resume while the search runs) gets "session DIR is in use by process P". */
pf_status search_session_lock(const char *dir, int *fd, struct pf_err *err);

#endif
