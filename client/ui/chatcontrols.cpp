#include "client/ui/chatcontrols.h"

#include "client/ui/chatactions.h"
#include "shared/limits.h"

#include <QAction>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace anonchat::client {

ChatControls::ChatControls(const ChatActions &actions, const QString &interests, QWidget *parent)
    : QFrame(parent)
    , m_actions(actions)
{
    setObjectName(QStringLiteral("controls"));
    m_interestsLabel = new QLabel(this);
    m_interests = new QLineEdit(this);
    m_interests->setObjectName(QStringLiteral("interestsEdit"));
    m_interests->setClearButtonEnabled(true);
    m_interests->setText(interests);
    m_interestsLabel->setBuddy(m_interests);
    m_startButton = new QPushButton(this);
    m_startButton->setObjectName(QStringLiteral("primaryButton"));
    m_nextButton = new QPushButton(this);
    m_nextButton->setObjectName(QStringLiteral("secondaryButton"));
    m_leaveButton = new QPushButton(this);
    m_leaveButton->setObjectName(QStringLiteral("dangerButton"));
    for (QPushButton *button : {m_startButton, m_nextButton, m_leaveButton}) {
        button->setCursor(Qt::PointingHandCursor);
        button->setAutoDefault(false);
    }
    connect(m_startButton, &QPushButton::clicked, actions.start(), &QAction::trigger);
    connect(m_nextButton, &QPushButton::clicked, actions.next(), &QAction::trigger);
    connect(m_leaveButton, &QPushButton::clicked, actions.leave(), &QAction::trigger);
    auto *controls = new QHBoxLayout(this);
    controls->setContentsMargins(16, 8, 16, 8);
    controls->setSpacing(8);
    controls->addWidget(m_interestsLabel);
    controls->addWidget(m_interests, 1);
    controls->addSpacing(6);
    controls->addWidget(m_startButton);
    controls->addWidget(m_nextButton);
    controls->addWidget(m_leaveButton);
}

void ChatControls::retranslate()
{
    m_interestsLabel->setText(tr("&Interests"));
    m_interests->setPlaceholderText(tr("music, travel, games… (optional)"));
    m_interests->setToolTip(tr("Up to %1 topics, separated by commas. You are paired with someone "
                               "who shares one first.")
                                .arg(protocol::kMaxInterests));
    m_startButton->setText(tr("Start"));
    m_startButton->setToolTip(m_actions.start()->toolTip());
    m_nextButton->setText(tr("Next"));
    m_nextButton->setToolTip(m_actions.next()->toolTip());
    m_leaveButton->setText(tr("Leave"));
    m_leaveButton->setToolTip(m_actions.leave()->toolTip());
}

void ChatControls::updateEnabled()
{
    m_startButton->setEnabled(m_actions.start()->isEnabled());
    m_nextButton->setEnabled(m_actions.next()->isEnabled());
    m_leaveButton->setEnabled(m_actions.leave()->isEnabled());
}

} // namespace anonchat::client
