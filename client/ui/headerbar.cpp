#include "client/ui/headerbar.h"

#include "client/core/chatsession.h"
#include "client/ui/theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QToolButton>

namespace anonchat::client {

using State = ChatSession::State;

HeaderBar::HeaderBar(QWidget *parent)
    : QFrame(parent)
{
    setObjectName(QStringLiteral("header"));
    m_brandIcon = new QLabel(this);
    m_brandIcon->setPixmap(Theme::appIcon().pixmap(28, 28));
    m_brand = new QLabel(QStringLiteral("anonchat"), this);
    m_brand->setObjectName(QStringLiteral("brand"));
    QFont brandFont = m_brand->font();
    brandFont.setPointSizeF(brandFont.pointSizeF() * 1.25);
    m_brand->setFont(brandFont);
    m_stateLabel = new QLabel(this);
    m_stateLabel->setObjectName(QStringLiteral("stateLabel"));
    m_stateLabel->setTextFormat(Qt::RichText);
    m_stateLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_onlinePill = new QLabel(this);
    m_onlinePill->setObjectName(QStringLiteral("onlinePill"));
    m_settingsButton = new QToolButton(this);
    m_settingsButton->setObjectName(QStringLiteral("settingsButton"));
    m_settingsButton->setAutoRaise(true);
    m_settingsButton->setText(QStringLiteral("⚙"));
    QFont gear = m_settingsButton->font();
    gear.setPointSizeF(gear.pointSizeF() * 1.4);
    m_settingsButton->setFont(gear);
    connect(m_settingsButton, &QToolButton::clicked, this, &HeaderBar::settingsRequested);
    auto *header = new QHBoxLayout(this);
    header->setContentsMargins(16, 10, 10, 10);
    header->setSpacing(10);
    header->addWidget(m_brandIcon);
    header->addWidget(m_brand);
    header->addSpacing(6);
    header->addWidget(m_stateLabel, 1);
    header->addWidget(m_onlinePill);
    header->addWidget(m_settingsButton);
}

void HeaderBar::retranslate()
{
    m_settingsButton->setToolTip(tr("Settings"));
    m_settingsButton->setAccessibleName(tr("Settings"));
}

void HeaderBar::showState(const ChatSession &session, bool serverFailed)
{
    const Theme theme = Theme::current();
    QString state;
    QColor dot = theme.muted;
    switch (session.state()) {
    case State::Offline:
        state = serverFailed ? tr("Server unavailable") : tr("Not connected");
        dot = serverFailed ? theme.danger : theme.muted;
        break;
    case State::Connecting:
        state = tr("Connecting…");
        dot = theme.amber;
        break;
    case State::Idle: state = tr("Ready when you are"); break;
    case State::Searching:
        state = session.powProgress() >= 0
                    ? tr("Checking that you are not a bot… %1%").arg(session.powProgress())
                    : tr("Looking for a stranger…");
        dot = theme.amber;
        break;
    case State::Chatting: {
        const QStringList common = session.commonInterests();
        state = common.isEmpty() ? tr("Chatting with a stranger")
                                 : tr("Chatting with a stranger · you both like %1")
                                       .arg(QLocale().createSeparatedList(common));
        dot = theme.ok;
        break;
    }
    case State::PartnerAway:
        state = tr("The stranger's connection dropped…");
        dot = theme.amber;
        break;
    case State::Ended: state = tr("Chat ended"); break;
    }
    m_stateLabel->setText(QStringLiteral("<span style=\"color:%1\">●</span>&nbsp; %2")
                              .arg(dot.name(), state.toHtmlEscaped()));
    m_stateLabel->setToolTip(state);
    m_stateLabel->setAccessibleName(state);
}

void HeaderBar::showOnline(const ChatSession &session)
{
    const int online = session.onlineCount();
    if (online <= 0 || !session.isConnected()) {
        m_onlinePill->setText(QStringLiteral("● –"));
        m_onlinePill->setToolTip(tr("People online"));
        return;
    }
    m_onlinePill->setText(QStringLiteral("● ") + tr("%n online", nullptr, online));
    m_onlinePill->setToolTip(tr("People online"));
}

} // namespace anonchat::client
