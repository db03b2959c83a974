// signals.c: signals that arrive before libdispatch watches them are kept, not lost (fastresize's SignalWatch).
#include <signal.h>
#include <string.h>
#include "CCodecShims.h"

// Set by the handler (async-signal-safe: one store), read and cleared by SignalWatch's thread.
static volatile sig_atomic_t kept[NSIG];

static void keep(int number) {
    if (number > 0 && number < NSIG) kept[number] = 1;
}

int fr_keep_signal(int number) {
    // Only over the default action or SIG_IGN: a handler already there (libdispatch's, for a
    // signal a source watches already) must stay, or the signal would be noted and go no further.
    struct sigaction current;
    if (sigaction(number, NULL, &current) != 0) return -1;
    if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN && current.sa_handler != keep) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = keep;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(number, &action, NULL);
}

int fr_signal_kept_by_us(int number) {
    struct sigaction current;
    if (sigaction(number, NULL, &current) != 0) return 0;
    return current.sa_handler == keep;
}

int fr_take_kept_signal(int number) {
    if (number <= 0 || number >= NSIG) return 0;
    const int was = kept[number];
    kept[number] = 0;
    return was;
}
