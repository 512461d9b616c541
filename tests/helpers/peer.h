/*
 * peer.h — running real programs (burnrate itself, Prometheus,
 * Alertmanager, VictoriaMetrics) from integration tests: a free loopback
 * port, a process started with its output in a log file, waiting for an
 * HTTP endpoint, and stopping by PID (never by name). Header-only.
 */
#ifndef BR_TESTS_PEER_H
#define BR_TESTS_PEER_H

#include "tests/helpers/testutil.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

typedef struct peer {
    pid_t pid;
    char log_path[1024];
} peer;

/* A port that was free a moment ago on 127.0.0.1. */
static inline int peer_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* Starts argv[0] with argv, stdout and stderr appended to log_path. */
static inline int peer_start(peer *p, const char *log_path, char *const argv[])
{
    memset(p, 0, sizeof(*p));
    snprintf(p->log_path, sizeof(p->log_path), "%s", log_path);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    p->pid = pid;
    return 0;
}

static inline double peer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until GET url answers 200 (true) or timeout_s passes or the
 * process exits (false). */
static inline bool peer_wait_http(peer *p, const char *url, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    while (peer_now() < deadline) {
        int status = 0;
        if (p != NULL && waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return false;
        }
        tu_http_result r;
        if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
            tu_http_free(&r);
            return true;
        }
        tu_http_free(&r);
        usleep(100 * 1000);
    }
    return false;
}

/* Sends sig and waits up to timeout_s for the exit; then SIGKILL. Returns
 * the exit status as waitpid reports it. */
static inline int peer_stop(peer *p, int sig, double timeout_s)
{
    if (p->pid <= 0) {
        return -1;
    }
    kill(p->pid, sig);
    double deadline = peer_now() + timeout_s;
    int status = 0;
    while (peer_now() < deadline) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return status;
        }
        usleep(20 * 1000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return status;
}

/* Prints the last lines of the peer's log (for failures). */
static inline void peer_dump_log(const peer *p)
{
    FILE *f = fopen(p->log_path, "r");
    if (f == NULL) {
        return;
    }
    char line[1024];
    fprintf(stderr, "---- %s ----\n", p->log_path);
    long lines = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lines++;
    }
    rewind(f);
    long skip = lines > 40 ? lines - 40 : 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (skip-- <= 0) {
            fputs(line, stderr);
        }
    }
    fclose(f);
}

#endif
