#include "client/ui/composer.h"

#include "client/ui/messageinput.h"
#include "shared/codec.h"
#include "shared/limits.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

namespace anonchat::client {

Composer::Composer(const QFont &messageFont, QWidget *parent)
    : QFrame(parent)
{
    setObjectName(QStringLiteral("composer"));
    m_input = new MessageInput(this);
    m_input->setObjectName(QStringLiteral("messageInput"));
    m_input->setFont(messageFont);
    m_sendButton = new QPushButton(this);
    m_sendButton->setObjectName(QStringLiteral("sendButton"));
    m_sendButton->setCursor(Qt::PointingHandCursor);
    m_sendButton->setAutoDefault(false);
    m_counter = new QLabel(this);
    m_counter->setObjectName(QStringLiteral("counterLabel"));
    m_counter->setAlignment(Qt::AlignCenter);
    QFont counterFont = m_counter->font();
    counterFont.setPointSizeF(counterFont.pointSizeF() * 0.85);
    m_counter->setFont(counterFont);
    auto *side = new QVBoxLayout;
    side->setSpacing(4);
    side->addWidget(m_sendButton);
    side->addWidget(m_counter);
    side->addStretch();
    auto *composer = new QHBoxLayout(this);
    composer->setContentsMargins(16, 10, 16, 10);
    composer->setSpacing(10);
    composer->addWidget(m_input, 1, Qt::AlignTop);
    composer->addLayout(side);

    connect(m_input, &MessageInput::submitted, this, &Composer::sendRequested);
    connect(m_sendButton, &QPushButton::clicked, this, &Composer::sendRequested);
    connect(m_input, &QPlainTextEdit::textChanged, this, &Composer::updateCounter);
}

void Composer::retranslate()
{
    m_sendButton->setText(tr("Send"));
    m_sendButton->setToolTip(tr("Send the message (Enter). Shift+Enter starts a new line."));
    m_input->setAccessibleName(tr("Message"));
    setInRoom(m_inRoom);
}

void Composer::setInRoom(bool inRoom)
{
    m_inRoom = inRoom;
    m_input->setPlaceholderText(inRoom ? tr("Type a message…")
                                       : tr("Start a chat to send messages"));
    updateCounter();
}

void Composer::updateCounter()
{
    const QString text = m_input->text();
    const int count = protocol::codePointCount(text.trimmed());
    const int max = protocol::kMaxMessageChars;
    m_counter->setText(QStringLiteral("%1/%2").arg(count).arg(max));
    const char *level = count > max ? "over" : (count > max - 50 ? "warn" : "ok");
    if (m_counter->property("level").toByteArray() != level) {
        m_counter->setProperty("level", QByteArray(level));
        m_counter->style()->unpolish(m_counter);
        m_counter->style()->polish(m_counter);
    }
    m_counter->setToolTip(count > max ? tr("%1 characters too many").arg(count - max)
                                      : tr("%1 of %2 characters").arg(count).arg(max));
    m_sendButton->setEnabled(m_inRoom && count > 0 && count <= max);
}

} // namespace anonchat::client
