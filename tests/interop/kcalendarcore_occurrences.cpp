// Read .ics files with KDE's KCalendarCore (KOrganizer, Kontact, Merkuro) and print, as
// JSON, each series' occurrences before UNTIL as its OccurrenceIterator gives them, with
// the overrides (RECURRENCE-ID) it relates to their series: UTC instants for timed events,
// dates (exclusive end) for all-day ones, and whether the occurrence is cancelled.
// Usage: kcalendarcore_occurrences UNTIL(ISO 8601, UTC) FILE.ics...  (tests/test_interop.py)
#include <KCalendarCore/Event>
#include <KCalendarCore/ICalFormat>
#include <KCalendarCore/MemoryCalendar>
#include <KCalendarCore/OccurrenceIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimeZone>
#include <cstdio>

using namespace KCalendarCore;

static QString show(const QDateTime &moment, bool allDay, int addDays = 0) {
  if (allDay) return moment.date().addDays(addDays).toString(Qt::ISODate);
  return moment.toUTC().toString("yyyy-MM-ddTHH:mm:ssZ");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s UNTIL FILE.ics...\n", argv[0]);
    return 2;
  }
  const QDateTime until = QDateTime::fromString(QString::fromUtf8(argv[1]), Qt::ISODate);
  const QDateTime from(QDate(1970, 1, 1), QTime(0, 0), Qt::UTC);
  QJsonObject result;
  for (int f = 2; f < argc; ++f) {
    const QString path = QString::fromLocal8Bit(argv[f]);
    MemoryCalendar::Ptr calendar(new MemoryCalendar(QTimeZone::utc()));
    ICalFormat format;
    if (!format.load(calendar, path)) {
      std::fprintf(stderr, "%s: KCalendarCore could not load it\n", argv[f]);
      return 1;
    }
    QJsonObject events;
    for (const Event::Ptr &event : calendar->rawEvents()) {
      if (event->hasRecurrenceId()) continue;  // an override: its series lists it
      const bool allDay = event->allDay();
      QJsonArray occurrences;
      OccurrenceIterator it(*calendar, event, from, until);
      while (it.hasNext()) {
        it.next();
        const Incidence::Ptr instance = it.incidence();
        if (it.occurrenceStartDate() >= until) break;
        // KCalendarCore keeps an all-day event's last day (inclusive): DTEND is the next.
        occurrences.append(QJsonArray{
            show(it.occurrenceStartDate(), allDay), show(it.occurrenceEndDate(), allDay, 1),
            instance->status() == Incidence::StatusCanceled
                || event->status() == Incidence::StatusCanceled});
      }
      events.insert(event->uid(), occurrences);
    }
    result.insert(path, QJsonObject{{"events", events}});
  }
  std::fwrite(QJsonDocument(result).toJson(QJsonDocument::Compact).constData(), 1,
              QJsonDocument(result).toJson(QJsonDocument::Compact).size(), stdout);
  return 0;
}
