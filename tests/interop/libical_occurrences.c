/* Read .ics files with libical (GNOME Evolution, Cyrus IMAP) and print, as JSON, each
 * series' occurrences before UNTIL as a client of libical computes them: the RRULE expanded
 * by icalrecur_iterator from DTSTART in its VTIMEZONE, EXDATEs removed, each occurrence
 * replaced by the VEVENT whose RECURRENCE-ID names it; plus icalrestriction_check()'s
 * verdict on the file (RFC 5546 iTIP rules: METHOD:PUBLISH wants ORGANIZER, ...).
 * Usage: libical_occurrences UNTIL(YYYYMMDDTHHMMSSZ) FILE.ics...  (tests/test_interop.py) */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 4096

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  char *text = malloc((size_t)size + 1);
  if (fread(text, 1, (size_t)size, f) != (size_t)size) { perror(path); exit(2); }
  text[size] = 0;
  fclose(f);
  return text;
}

static void print_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

/* An instant as seconds since the epoch (dates: their midnight in UTC). */
static time_t instant(struct icaltimetype t) {
  if (t.is_date) return icaltime_as_timet(t);
  return icaltime_as_timet_with_zone(t, icaltime_get_timezone(t));
}

static void print_time(struct icaltimetype t, time_t at, int is_date) {
  char text[32];
  struct tm tm;
  time_t moment = is_date ? icaltime_as_timet(t) : at;
  gmtime_r(&moment, &tm);
  strftime(text, sizeof text, is_date ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf("\"%s\"", text);
}

/* A property's time in the zone its TZID names (VTIMEZONE of the file): libical leaves
 * EXDATE and RECURRENCE-ID values floating. */
static struct icaltimetype zoned(struct icaltimetype t, icalproperty *p, icalcomponent *root) {
  icalparameter *tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
  if (t.is_date || icaltime_get_timezone(t) || !tzid) return t;
  icaltimezone *zone = icalcomponent_get_timezone(root, icalparameter_get_tzid(tzid));
  return zone ? icaltime_set_timezone(&t, zone) : t;
}

static int cancelled(icalcomponent *event) {
  return icalcomponent_get_status(event) == ICAL_STATUS_CANCELLED;
}

static void print_event(icalcomponent *root, icalcomponent *master, icalcomponent **overrides,
                        int n_overrides, time_t until) {
  struct icaltimetype start = icalcomponent_get_dtstart(master);
  struct icaltimetype end = icalcomponent_get_dtend(master);
  time_t length = instant(end) - instant(start); /* exact: RFC 5545 3.8.5.3 */
  icalproperty *rrule = icalcomponent_get_first_property(master, ICAL_RRULE_PROPERTY);
  icalrecur_iterator *it = rrule ? icalrecur_iterator_new(icalproperty_get_rrule(rrule), start)
                                 : NULL;
  const char *uid = icalcomponent_get_uid(master);
  print_string(uid);
  printf(":[");
  int first = 1;
  /* The iterator's first instance is DTSTART itself; a one-off event has that one only. */
  for (struct icaltimetype t = it ? icalrecur_iterator_next(it) : start;
       !icaltime_is_null_time(t); t = it ? icalrecur_iterator_next(it) : icaltime_null_time()) {
    time_t at = instant(t);
    if (at >= until) break;
    int excluded = 0;
    for (icalproperty *p = icalcomponent_get_first_property(master, ICAL_EXDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(master, ICAL_EXDATE_PROPERTY)) {
      if (instant(zoned(icalproperty_get_exdate(p), p, root)) == at) excluded = 1;
    }
    if (excluded) { if (!it) break; continue; }
    icalcomponent *instance = master;
    for (int i = 0; i < n_overrides; i++) {
      icalproperty *id = icalcomponent_get_first_property(overrides[i],
                                                          ICAL_RECURRENCEID_PROPERTY);
      if (strcmp(icalcomponent_get_uid(overrides[i]), uid) == 0
          && instant(zoned(icalproperty_get_recurrenceid(id), id, root)) == at)
        instance = overrides[i];
    }
    printf("%s[", first ? "" : ",");
    first = 0;
    if (instance == master) {
      print_time(t, at, t.is_date);
      putchar(',');
      struct icaltimetype last = t;
      if (t.is_date) icaltime_adjust(&last, (int)(length / 86400), 0, 0, 0);
      print_time(last, at + length, t.is_date);
    } else {
      struct icaltimetype s = icalcomponent_get_dtstart(instance);
      struct icaltimetype e = icalcomponent_get_dtend(instance);
      print_time(s, instant(s), s.is_date);
      putchar(',');
      print_time(e, instant(e), e.is_date);
    }
    printf(",%s]", cancelled(instance) || cancelled(master) ? "true" : "false");
    if (!it) break;
  }
  if (it) icalrecur_iterator_free(it);
  putchar(']');
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s UNTIL FILE.ics...\n", argv[0]); return 2; }
  time_t until = icaltime_as_timet(icaltime_from_string(argv[1]));
  printf("{");
  for (int f = 2; f < argc; f++) {
    char *text = slurp(argv[f]);
    icalcomponent *calendar = icalparser_parse_string(text);
    icalcomponent *checked = icalparser_parse_string(text);
    if (!calendar || !checked) { fprintf(stderr, "%s: not iCalendar\n", argv[f]); return 1; }
    int valid = icalrestriction_check(checked);
    icalcomponent *masters[MAX_EVENTS], *overrides[MAX_EVENTS];
    int n_masters = 0, n_overrides = 0;
    for (icalcomponent *e = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT);
         e; e = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
      if (icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY)) {
        if (n_overrides < MAX_EVENTS) overrides[n_overrides++] = e;
      } else if (n_masters < MAX_EVENTS) masters[n_masters++] = e;
    }
    printf("%s", f > 2 ? "," : "");
    print_string(argv[f]);
    printf(":{\"restrictions_ok\":%s,\"events\":{", valid ? "true" : "false");
    for (int i = 0; i < n_masters; i++) {
      printf("%s", i ? "," : "");
      print_event(calendar, masters[i], overrides, n_overrides, until);
    }
    printf("}}");
    icalcomponent_free(calendar);
    icalcomponent_free(checked);
    free(text);
  }
  printf("}\n");
  return 0;
}
