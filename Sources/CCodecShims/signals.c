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
