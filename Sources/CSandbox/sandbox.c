// sandbox.c: Landlock through its system calls, seccomp through libseccomp, no_new_privs through prctl.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <seccomp.h>
#include "CSandbox.h"

// Debian 12's headers stop at Landlock ABI 2: the calls, structures and rights are written out
// here from the kernel's UAPI, and only those the running kernel's ABI knows are ever used.
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

struct fr_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;    // ABI 4
    uint64_t scoped;                // ABI 6
};

struct fr_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

struct fr_net_port_attr {
    uint64_t allowed_access;
    uint64_t port;
};

enum {
    FR_RULE_PATH_BENEATH = 1,
    FR_RULE_NET_PORT = 2,
};

#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_REMOVE_DIR (1ULL << 4)
#define FS_REMOVE_FILE (1ULL << 5)
#define FS_MAKE_DIR (1ULL << 7)
#define FS_MAKE_REG (1ULL << 8)
#define FS_MAKE_SYM (1ULL << 12)
#define FS_REFER (1ULL << 13)       // ABI 2
#define FS_TRUNCATE (1ULL << 14)    // ABI 3
#define FS_IOCTL_DEV (1ULL << 15)   // ABI 5
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

// Every file-system right the ABI knows (bits 0–12 since ABI 1).
static uint64_t fr_fs_rights(int abi) {
    uint64_t rights = (1ULL << 13) - 1;
    if (abi >= 2) rights |= FS_REFER;
    if (abi >= 3) rights |= FS_TRUNCATE;
    if (abi >= 5) rights |= FS_IOCTL_DEV;
    return rights;
}

// The rights a rule on something that is not a folder may carry.
static const uint64_t fr_file_rights = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;

int fr_landlock_abi(void) {
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, (uint32_t)1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    return abi < 0 ? 0 : (int)abi;
}

int fr_landlock_ruleset(int abi, int restrict_network, int scope) {
    struct fr_ruleset_attr attr = { .handled_access_fs = fr_fs_rights(abi) };
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 4) {
        if (restrict_network) attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
        size = offsetof(struct fr_ruleset_attr, scoped);
    }
    if (abi >= 6) {
        if (scope) attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
        size = sizeof attr;
    }
    return (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
}

int fr_landlock_allow_path(int ruleset, int abi, const char *path, int access) {
    uint64_t allowed = 0;
    if (access & FR_ACCESS_READ) allowed |= FS_READ_FILE | FS_READ_DIR | FS_EXECUTE;
    if (access & FR_ACCESS_WRITE) {
        allowed |= FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SYM
            | FS_REFER | FS_TRUNCATE;
    }
    int descriptor = open(path, O_PATH | O_CLOEXEC);
    if (descriptor < 0) return -1;
    struct stat status;
    if (fstat(descriptor, &status) != 0) {
        int saved = errno;
        close(descriptor);
        errno = saved;
        return -1;
    }
    allowed &= fr_fs_rights(abi);
    if (!S_ISDIR(status.st_mode)) allowed &= fr_file_rights;
    struct fr_path_beneath_attr rule = { .allowed_access = allowed, .parent_fd = descriptor };
    long result = syscall(__NR_landlock_add_rule, ruleset, FR_RULE_PATH_BENEATH, &rule, 0);
    int saved = errno;
    close(descriptor);
    errno = saved;
    return result < 0 ? -1 : 0;
}

int fr_landlock_allow_port(int ruleset, uint16_t port, int bind, int connect) {
    struct fr_net_port_attr rule = {
        .allowed_access = (bind ? NET_BIND_TCP : 0) | (connect ? NET_CONNECT_TCP : 0),
        .port = port,
    };
    return syscall(__NR_landlock_add_rule, ruleset, FR_RULE_NET_PORT, &rule, 0) < 0 ? -1 : 0;
}

// Sets no_new_privs: neither this process nor what it executes can gain privileges.
static int fr_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int fr_landlock_restrict(int ruleset) {
    int result = fr_no_new_privs();
    if (result == 0) result = syscall(__NR_landlock_restrict_self, ruleset, 0) < 0 ? -1 : 0;
    int saved = errno;
    close(ruleset);
    errno = saved;
    return result;
}

int fr_seccomp_worker_filter(void) {
    static const int denied[] = {
        // The network.
        SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
        SCMP_SYS(accept), SCMP_SYS(accept4),
        // Other programs, other processes, and looking into them.
        SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(ptrace),
        SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd),
        // The kernel and the machine.
        SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(init_module), SCMP_SYS(finit_module),
        SCMP_SYS(delete_module), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(reboot),
        SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(acct), SCMP_SYS(syslog), SCMP_SYS(iopl), SCMP_SYS(ioperm),
        SCMP_SYS(settimeofday), SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex),
        SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(personality), SCMP_SYS(quotactl),
        SCMP_SYS(userfaultfd), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
        SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(fanotify_init),
        // Mounts, namespaces and escaping the file-system view.
        SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(unshare),
        SCMP_SYS(setns), SCMP_SYS(fsopen), SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick),
        SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(mount_setattr), SCMP_SYS(open_by_handle_at),
        SCMP_SYS(name_to_handle_at), SCMP_SYS(mknod), SCMP_SYS(mknodat),
    };
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    if (!filter) return -ENOMEM;
    // Every thread, including those the runtime started before (libseccomp sets no_new_privs).
    int result = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1);
    for (size_t i = 0; result == 0 && i < sizeof denied / sizeof denied[0]; i++) {
        result = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
    }
    // clone3 passes its flags in memory the filter cannot read: refused as unknown, glibc falls
    // back to clone, whose flags it can; a clone that makes a process rather than a thread fails.
    if (result == 0) result = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (result == 0) {
        result = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    }
    if (result == 0) result = seccomp_load(filter);
    seccomp_release(filter);
    return result;
}
