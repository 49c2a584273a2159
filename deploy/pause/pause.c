/*
 * The pause (sandbox) process of the hipaa-guard/pause image: it holds a pod's namespaces open and
 * does nothing else. Only for HIPAA Guard's local test node and demo, where no registry is reachable
 * to pull one; clusters (EKS included) keep their platform's own pause image.
 *
 * Built static (`gcc -static -Os`, scripts/build-images.sh) because the image has no base: no libc,
 * no loader, nothing but this file.
 *
 * As PID 1 of the sandbox it must: sleep without using CPU (pause()), exit 0 when the runtime stops
 * the sandbox (SIGTERM, or SIGINT by hand), and reap any child re-parented to it so that no zombie
 * outlives its process (SIGCHLD).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "hipaa-guard pause 1.0"

static void say(const char *msg) {
    /* write(2) only: handlers may call this, and stdio is not async-signal-safe. */
    size_t len = strlen(msg);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, msg, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        msg += n;
        len -= (size_t)n;
    }
}

static void on_stop(int signo) {
    say(signo == SIGTERM ? "pause: SIGTERM, exiting\n" : "pause: SIGINT, exiting\n");
    _exit(0);
}

static void on_child(int signo) {
    (void)signo;
    int saved = errno; /* the interrupted code may read errno after this handler returns */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

static int handle(int signo, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        say(VERSION "\n");
        return 0;
    }
    if (getpid() != 1)
        /* Still useful outside a sandbox (tests), but say so: reaping only matters as PID 1. */
        say("pause: warning: not running as PID 1\n");

    if (handle(SIGINT, on_stop, 0) < 0 || handle(SIGTERM, on_stop, 0) < 0 ||
        handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) < 0) {
        say("pause: sigaction failed\n");
        return 1;
    }

    for (;;)
        pause();
    /* not reached: only a signal handler ends this process */
    return 42;
}
