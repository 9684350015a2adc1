// ModerationWindow: the operator's window over a server's reports and bans.
#pragma once

#include "client/core/moderationclient.h"

#include <QList>
#include <QWidget>

class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace anonchat::client {

/**
 * Server › Moderation…: the reports of one status (open by default) with the selected one's
 * transcript, Dismiss and Ban for 1 hour, 1 day or 7 days; the bans in force with Lift; Refresh
 * and a line for the last error. It only shows what its ModerationClient fetched and forwards
 * the clicks to it; after each change it fetches again.
 */
class ModerationWindow : public QWidget
{
    Q_OBJECT
public:
    /// The ban lengths offered, in hours.
    static constexpr int kBanHours[] = {1, 24, 7 * 24};

    /// Uses `client` (which must outlive the window) and fetches at once.
    explicit ModerationWindow(ModerationClient *client, QWidget *parent = nullptr);

    ModerationClient *client() const { return m_client; }
    QComboBox *statusFilter() const { return m_status; }
    QListWidget *reportsList() const { return m_reports; }
    QPlainTextEdit *transcriptView() const { return m_transcript; }
    QPushButton *dismissButton() const { return m_dismiss; }
    /// The button that bans for `hours` (one of kBanHours), or null.
    QPushButton *banButton(int hours) const;
    QListWidget *bansList() const { return m_bans; }
    QPushButton *liftButton() const { return m_lift; }
    QPushButton *refreshButton() const { return m_refresh; }
    QLabel *errorLabel() const { return m_error; }
    /// The report selected in the list, or null.
    const ModerationReport *selectedReport() const;

public slots:
    /// Fetches the reports of the chosen status and the bans again.
    void refresh();

protected:
    void changeEvent(QEvent *event) override;

private:
    void buildUi();
    QWidget *buildReportsPane();
    QWidget *buildBansPane();
    void connectClient();
    void retranslate();
    void showReports(const QString &status, const QList<ModerationReport> &reports);
    void showBans(const QList<ModerationBan> &bans);
    void showTranscript();
    void updateEnabled();
    void showError(const QString &message);
    QString reportTitle(const ModerationReport &report) const;
    QString banTitle(const ModerationBan &ban) const;
    QString currentStatus() const;
    void setBusy(bool busy);

    ModerationClient *m_client = nullptr;
    QList<ModerationReport> m_reportData;
    QList<ModerationBan> m_banData;
    int m_pending = 0; ///< requests not answered yet

    QLabel *m_reportsTitle = nullptr;
    QLabel *m_bansTitle = nullptr;
    QLabel *m_statusLabel = nullptr;
    QComboBox *m_status = nullptr;
    QPushButton *m_refresh = nullptr;
    QListWidget *m_reports = nullptr;
    QPlainTextEdit *m_transcript = nullptr;
    QPushButton *m_dismiss = nullptr;
    QList<QPushButton *> m_banButtons;
    QListWidget *m_bans = nullptr;
    QPushButton *m_lift = nullptr;
    QLabel *m_error = nullptr;
};

} // namespace anonchat::client
