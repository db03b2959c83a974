// CSandbox: the system calls Swift cannot make itself (variadic prctl and syscall, libseccomp's macros) to restrict a process.
#ifndef FASTRESIZE_CSANDBOX_H
#define FASTRESIZE_CSANDBOX_H

#include <stdint.h>

/// The Landlock ABI the kernel offers (1, 2, …), or 0 when it has none (disabled, too old).
int fr_landlock_abi(void);

/// Access classes a rule grants beneath a path; each is cut down to what the ABI knows and, for a
/// path that is not a folder, to the rights files can have.
#define FR_ACCESS_READ 1       // read files, list folders, and execute (for the program's own workers)
#define FR_ACCESS_WRITE 2      // make, write, truncate, rename and remove files and folders

/// A ruleset being built: every file-system right of the ABI is handled (so denied unless a
/// rule grants it); with `restrict_network`, TCP bind and connect too (ABI 4 and later); with
/// `scope`, signals to and abstract sockets of processes outside the domain (ABI 6 and later).
/// Returns its descriptor, or -1 with errno set.
int fr_landlock_ruleset(int abi, int restrict_network, int scope);

/// Grants `access` (FR_ACCESS_*) beneath `path`. 0, or -1 with errno set (ENOENT: no such path).
int fr_landlock_allow_path(int ruleset, int abi, const char *path, int access);

/// Lets the process bind a TCP port (a metrics listener) or connect to one (a database).
int fr_landlock_allow_port(int ruleset, uint16_t port, int bind, int connect);

/// no_new_privs, then the ruleset applied to the calling thread and the threads it starts later;
/// the descriptor is closed. 0, or -1 with errno set.
int fr_landlock_restrict(int ruleset);

/// A seccomp filter for a decoding worker: the calls a decoder never needs and an exploit
/// would (sockets, exec, ptrace, mount, bpf, module loading, namespaces, new processes, …) fail
/// with EPERM; clone3 with ENOSYS so the C library starts threads with clone, whose flags the
/// filter can see (a clone that is not a thread is refused). Applied to every thread of the
/// process. 0, or a negative errno.
int fr_seccomp_worker_filter(void);

#endif
