//  ht_log: hutongd's log lines (see ht_log.h).
//
//  The sink is process-wide, like zsys's: the node actor, the reader
//  thread and hutongd's main thread all log, and a SIGHUP reopens the
//  file under them. So this module keeps the one mutable state of the
//  daemon, behind a mutex; every line is formatted first and written
//  whole under the lock, so lines from threads never interleave.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include "ht_log.h"
#include "ht_path.h"

#define S_LINE_MAX_CHARS 2048       //  longer messages are cut
#define S_SYSLOG_SOCKET "/dev/log"  //  where syslog(3) sends

static struct {
    pthread_mutex_t lock;           //  guards the fields below
    FILE *file;                     //  log/file, or NULL: stderr
    bool syslog;                    //  send to syslog
    bool syslog_warned;             //  the fallback was reported
} s_sink = { PTHREAD_MUTEX_INITIALIZER, NULL, false, false };

void
ht_log_timestamp (const struct timespec *at, char *text)
{
    struct tm local;
    time_t seconds = at->tv_sec;
    localtime_r (&seconds, &local);
    long offset = local.tm_gmtoff / 60;
    size_t length = strftime (text, HT_LOG_TIME_BYTES, "%Y-%m-%dT%H:%M:%S", &local);
    snprintf (text + length, HT_LOG_TIME_BYTES - length, ".%03ld%c%02ld:%02ld",
              at->tv_nsec / 1000000, offset < 0? '-': '+', labs (offset) / 60,
              labs (offset) % 60);
}

//  Write one formatted line: to syslog and the file as configured, to
//  stderr if neither took it
static void
s_write (char letter, int priority, const char *format, va_list args)
{
    char message [S_LINE_MAX_CHARS], stamp [HT_LOG_TIME_BYTES];
    vsnprintf (message, sizeof message, format, args);
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    ht_log_timestamp (&now, stamp);
    pthread_mutex_lock (&s_sink.lock);
    if (s_sink.syslog)
        syslog (priority, "%s", message);   //  syslog stamps it itself
    if (s_sink.file || !s_sink.syslog) {
        FILE *out = s_sink.file? s_sink.file: stderr;
        fprintf (out, "%s %c: %s\n", stamp, letter, message);
        fflush (out);
    }
    pthread_mutex_unlock (&s_sink.lock);
}

#define S_LOGGER(name, letter, priority) \
    void name (const char *format, ...) { \
        va_list args; \
        va_start (args, format); \
        s_write (letter, priority, format, args); \
        va_end (args); \
    }

S_LOGGER (ht_log_error, 'E', LOG_ERR)
S_LOGGER (ht_log_warning, 'W', LOG_WARNING)
S_LOGGER (ht_log_info, 'I', LOG_INFO)
S_LOGGER (ht_log_debug, 'D', LOG_DEBUG)

//  Does a syslog daemon listen on path? syslog(3) drops lines silently
//  when nobody does, so we ask first. 0 or the errno of the attempt.
static int
s_syslog_answers (const char *path)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf (address.sun_path, sizeof address.sun_path, "%s", path);
    int error = 0;
    int types [2] = { SOCK_DGRAM, SOCK_STREAM };
    for (int index = 0; index < 2; index++) {
        int fd = socket (AF_UNIX, types [index] | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return errno;
        error = connect (fd, (struct sockaddr *) &address, sizeof address) == 0? 0: errno;
        close (fd);
        if (error != EPROTOTYPE)
            break;                  //  only a wrong socket type is worth a second try
    }
    return error;
}

//  Open log/file for appending, or NULL with the reason in error
static FILE *
s_open_file (const char *path, int *code, char *error, size_t error_size)
{
    char reason [PATH_MAX + 128];
    int fd = ht_path_open (path, O_WRONLY | O_APPEND | O_CREAT, 0640, code,
                           reason, sizeof reason);
    if (fd < 0 && *code == HT_EUNSAFE)
        snprintf (error, error_size, "log/file: %s", reason);
    else
    if (fd < 0)
        snprintf (error, error_size, "log/file: cannot open %s: %s", path, strerror (errno));
    FILE *file = fd >= 0? fdopen (fd, "a"): NULL;
    if (fd >= 0 && !file) {
        *code = HT_EIO;
        snprintf (error, error_size, "log/file: cannot open %s: %s", path, strerror (errno));
        close (fd);
    }
    return file;
}

int
ht_log_open (const ht_config_t *config, char *error, size_t error_size)
{
    assert (config);
    //  czmq's own rare messages still go through zsys: to stderr
    zsys_set_logident ("hutongd");
    zsys_set_logstream (stderr);
    zsys_set_logsystem (false);
    int code = HT_OK;
    FILE *file = *config->log_file? s_open_file (config->log_file, &code, error, error_size)
                                  : NULL;
    int syslog_error = config->log_syslog? s_syslog_answers (S_SYSLOG_SOCKET): 0;
    pthread_mutex_lock (&s_sink.lock);
    bool warn = config->log_syslog && syslog_error && !s_sink.syslog_warned;
    s_sink.syslog_warned = config->log_syslog && syslog_error;
    if (s_sink.syslog && !(config->log_syslog && !syslog_error))
        closelog ();
    if (!s_sink.syslog && config->log_syslog && !syslog_error)
        openlog ("hutongd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    s_sink.syslog = config->log_syslog && !syslog_error;
    //  A file that would not open leaves the lines where they went
    if (code == HT_OK) {
        if (s_sink.file)
            fclose (s_sink.file);
        s_sink.file = file;
    }
    pthread_mutex_unlock (&s_sink.lock);
    if (warn)
        ht_log_warning ("log: log/syslog = yes, but no syslog daemon answers on %s (%s); "
                        "logging to %s instead", S_SYSLOG_SOCKET, strerror (syslog_error),
                        *config->log_file? config->log_file: "stderr");
    return code;
}

void
ht_log_close (void)
{
    pthread_mutex_lock (&s_sink.lock);
    if (s_sink.file)
        fclose (s_sink.file);
    if (s_sink.syslog)
        closelog ();
    s_sink.file = NULL;
    s_sink.syslog = false;
    s_sink.syslog_warned = false;
    pthread_mutex_unlock (&s_sink.lock);
}
