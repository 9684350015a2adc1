#include "client/ui/moderationwindow.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

namespace anonchat::client {

namespace {

const char *const kStatuses[] = {"open", "dismissed", "actioned"};

QString localTime(const QDateTime &utc)
{
    return QLocale().toString(utc.toLocalTime(), QLocale::ShortFormat);
}

} // namespace

ModerationWindow::ModerationWindow(ModerationClient *client, QWidget *parent)
    : QWidget(parent, Qt::Window)
    , m_client(client)
{
    setObjectName(QStringLiteral("moderationWindow"));
    buildUi();
    connectClient();
    retranslate();
    updateEnabled();
    resize(820, 600);
    refresh();
}

QPushButton *ModerationWindow::banButton(int hours) const
{
    for (qsizetype i = 0; i < m_banButtons.size(); ++i) {
        if (kBanHours[i] == hours)
            return m_banButtons[i];
    }
    return nullptr;
}

const ModerationReport *ModerationWindow::selectedReport() const
{
    const int row = m_reports->currentRow();
    return row >= 0 && row < m_reportData.size() ? &m_reportData[row] : nullptr;
}

// ---- building -------------------------------------------------------------------------------

void ModerationWindow::buildUi()
{
    auto *column = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    m_statusLabel = new QLabel(this);
    m_status = new QComboBox(this);
    for (const char *status : kStatuses)
        m_status->addItem(QString(), QString::fromLatin1(status));
    m_statusLabel->setBuddy(m_status);
    m_refresh = new QPushButton(this);
    top->addWidget(m_statusLabel);
    top->addWidget(m_status);
    top->addStretch(1);
    top->addWidget(m_refresh);
    column->addLayout(top);

    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(buildReportsPane());
    split->addWidget(buildBansPane());
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    column->addWidget(split, 1);

    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("moderationError"));
    m_error->setTextFormat(Qt::PlainText);
    m_error->setWordWrap(true);
    column->addWidget(m_error);

    connect(m_status, &QComboBox::currentIndexChanged, this, &ModerationWindow::refresh);
    connect(m_refresh, &QPushButton::clicked, this, &ModerationWindow::refresh);
}

QWidget *ModerationWindow::buildReportsPane()
{
    auto *pane = new QWidget(this);
    auto *column = new QVBoxLayout(pane);
    column->setContentsMargins(0, 0, 0, 0);
    m_reportsTitle = new QLabel(pane);
    column->addWidget(m_reportsTitle);
    auto *split = new QSplitter(Qt::Horizontal, pane);
    m_reports = new QListWidget(split);
    m_reports->setWordWrap(true);
    m_reports->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_transcript = new QPlainTextEdit(split);
    m_transcript->setReadOnly(true);
    split->setSizes({340, 460});
    column->addWidget(split, 1);

    auto *buttons = new QHBoxLayout;
    m_dismiss = new QPushButton(pane);
    buttons->addWidget(m_dismiss);
    buttons->addStretch(1);
    for (const int hours : kBanHours) {
        auto *button = new QPushButton(pane);
        button->setObjectName(QStringLiteral("dangerButton")); // the theme's red outline
        m_banButtons.append(button);
        buttons->addWidget(button);
        connect(button, &QPushButton::clicked, this, [this, hours] {
            if (const ModerationReport *report = selectedReport()) {
                setBusy(true);
                m_client->ban(report->id, hours);
            }
        });
    }
    column->addLayout(buttons);

    connect(m_reports, &QListWidget::currentRowChanged, this, [this] {
        showTranscript();
        updateEnabled();
    });
    connect(m_dismiss, &QPushButton::clicked, this, [this] {
        if (const ModerationReport *report = selectedReport()) {
            setBusy(true);
            m_client->dismiss(report->id);
        }
    });
    return pane;
}

QWidget *ModerationWindow::buildBansPane()
{
    auto *pane = new QWidget(this);
    auto *column = new QVBoxLayout(pane);
    column->setContentsMargins(0, 0, 0, 0);
    m_bansTitle = new QLabel(pane);
    column->addWidget(m_bansTitle);
    auto *line = new QHBoxLayout;
    m_bans = new QListWidget(pane);
    m_lift = new QPushButton(pane);
    line->addWidget(m_bans, 1);
    line->addWidget(m_lift, 0, Qt::AlignTop);
    column->addLayout(line, 1);

    connect(m_bans, &QListWidget::currentRowChanged, this, &ModerationWindow::updateEnabled);
    connect(m_lift, &QPushButton::clicked, this, [this] {
        const int row = m_bans->currentRow();
        if (row >= 0 && row < m_banData.size()) {
            setBusy(true);
            m_client->lift(m_banData[row].id);
        }
    });
    return pane;
}

void ModerationWindow::connectClient()
{
    connect(m_client, &ModerationClient::reportsFetched, this, &ModerationWindow::showReports);
    connect(m_client, &ModerationClient::bansFetched, this, &ModerationWindow::showBans);
    // A change made: the lists as the server has them now.
    connect(m_client, &ModerationClient::dismissed, this, [this] {
        setBusy(false);
        refresh();
    });
    connect(m_client, &ModerationClient::banMade, this, [this] {
        setBusy(false);
        refresh();
    });
    connect(m_client, &ModerationClient::lifted, this, [this] {
        setBusy(false);
        refresh();
    });
    connect(m_client, &ModerationClient::failed, this,
            [this](ModerationClient::Failure, const QString &message) {
                setBusy(false);
                showError(message);
            });
}

void ModerationWindow::retranslate()
{
    setWindowTitle(tr("Moderation — anonchat"));
    m_statusLabel->setText(tr("&Reports:"));
    m_status->setItemText(0, tr("Open"));
    m_status->setItemText(1, tr("Dismissed"));
    m_status->setItemText(2, tr("Actioned"));
    m_refresh->setText(tr("Re&fresh"));
    m_reportsTitle->setText(tr("Reports and the transcript of the reported chat"));
    m_dismiss->setText(tr("&Dismiss"));
    m_banButtons[0]->setText(tr("Ban for 1 &hour"));
    m_banButtons[1]->setText(tr("Ban for 1 d&ay"));
    m_banButtons[2]->setText(tr("Ban for 7 da&ys"));
    m_bansTitle->setText(tr("Bans in force"));
    m_lift->setText(tr("&Lift ban"));
    m_transcript->setPlaceholderText(tr("Select a report to read its chat."));
    for (int i = 0; i < m_reportData.size(); ++i)
        m_reports->item(i)->setText(reportTitle(m_reportData[i]));
    for (int i = 0; i < m_banData.size(); ++i)
        m_bans->item(i)->setText(banTitle(m_banData[i]));
    showTranscript();
}

void ModerationWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}

// ---- showing --------------------------------------------------------------------------------

void ModerationWindow::refresh()
{
    m_error->clear();
    m_pending += 2;
    updateEnabled();
    m_client->fetchReports(currentStatus());
    m_client->fetchBans();
}

QString ModerationWindow::currentStatus() const
{
    return m_status->currentData().toString();
}

void ModerationWindow::showReports(const QString &status, const QList<ModerationReport> &reports)
{
    setBusy(false);
    if (status != currentStatus())
        return; // an answer for the filter chosen before
    const qint64 selected = selectedReport() ? selectedReport()->id : 0;
    m_reportData = reports;
    const QSignalBlocker blocker(m_reports);
    m_reports->clear();
    int row = reports.isEmpty() ? -1 : 0;
    for (int i = 0; i < reports.size(); ++i) {
        m_reports->addItem(reportTitle(reports[i]));
        if (reports[i].id == selected)
            row = i;
    }
    m_reports->setCurrentRow(row);
    showTranscript();
    updateEnabled();
}

void ModerationWindow::showBans(const QList<ModerationBan> &bans)
{
    setBusy(false);
    m_banData = bans;
    const QSignalBlocker blocker(m_bans);
    m_bans->clear();
    for (const ModerationBan &ban : bans)
        m_bans->addItem(banTitle(ban));
    m_bans->setCurrentRow(bans.isEmpty() ? -1 : 0);
    updateEnabled();
}

QString ModerationWindow::reportTitle(const ModerationReport &report) const
{
    const qsizetype n = report.messages.size();
    const QString messages = n == 1 ? tr("1 message") : tr("%1 messages").arg(n);
    return tr("#%1 · %2 · %3 · %4")
        .arg(QString::number(report.id), localTime(report.createdAt),
             report.reason.isEmpty() ? tr("no reason given") : report.reason, messages);
}

QString ModerationWindow::banTitle(const ModerationBan &ban) const
{
    const QString who = ban.reportId > 0 ? tr("report #%1").arg(ban.reportId) : tr("automatic");
    QString text = tr("Until %1 (%2)").arg(localTime(ban.until), who);
    if (!ban.note.isEmpty())
        text += QStringLiteral(" — ") + ban.note;
    return text;
}

void ModerationWindow::showTranscript()
{
    const ModerationReport *report = selectedReport();
    if (!report) {
        m_transcript->clear();
        return;
    }
    QStringList lines;
    for (const ReportedMessage &m : report->messages) {
        const QString who = m.senderId == report->reportedId ? tr("Reported user") : tr("Reporter");
        lines.append(
            QStringLiteral("[%1] %2: %3")
                .arg(QLocale().toString(m.timestamp.toLocalTime().time(), QLocale::ShortFormat),
                     who, m.content));
    }
    if (lines.isEmpty())
        lines.append(tr("(The chat had no messages.)"));
    m_transcript->setPlainText(lines.join(QLatin1Char('\n')));
}

void ModerationWindow::setBusy(bool busy)
{
    m_pending = busy ? m_pending + 1 : std::max(0, m_pending - 1);
    updateEnabled();
}

void ModerationWindow::updateEnabled()
{
    const bool idle = m_pending == 0;
    const ModerationReport *report = selectedReport();
    const bool open = report && report->status == QLatin1String("open");
    m_dismiss->setEnabled(idle && open);
    for (QPushButton *button : std::as_const(m_banButtons))
        button->setEnabled(idle && open);
    m_lift->setEnabled(idle && m_bans->currentRow() >= 0);
}

void ModerationWindow::showError(const QString &message)
{
    m_error->setText(message);
}

} // namespace anonchat::client
