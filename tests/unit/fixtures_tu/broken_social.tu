%header Socialförvaltningen | Tjänsteutlåtande | Dnr SN 2025/5190
%footer Stockholms stad
%numbering literal
%headings styled
%layout narrow
= Remiss av motion om fler platser på stadens härbärgen under vintern
Svar på remiss från kommunstyrelsen, Dnr KS 2025/702
== Förvaltningens förslag till // beslut @forslag
1. Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.
2. Ärendet justeras omedelbart.
== Sammanfattning @sammanfattning
Motionärerna föreslår att staden utökar antalet akuta övernattningsplatser för hemlösa under vintermånaderna och att platserna öppnas redan när temperaturen understiger noll grader.
Socialförvaltningen delar motionärernas oro för människor som sover utomhus vintertid. Förvaltningen bedömer att den nuvarande vinterberedskapen i huvudsak motsvarar behovet men att rutinerna för att snabbt öppna fler platser kan förbättras.
== Bakgrund @bakgrund
Staden har sedan många år en särskild vinterberedskap med extra övernattningsplatser som öppnas när behovet ökar. Under vintern 2024–2025 fanns som mest 230 akuta platser.
== Ärendet @arendet
Motionärerna hänvisar till uppgifter från frivilligorganisationer om att platserna inte räckte till under flera kalla nätter förra vintern. De föreslår att kommunfullmäktige ger socialnämnden i uppdrag att utöka antalet platser och att ändra kriterierna för när vinterberedskapen aktiveras.
== Ärendets // beredning @beredning
Ärendet har beretts inom avdelningen för stöd till personer i hemlöshet. Samråd har skett med Stockholms Stadsmission och Ersta diakoni.
== Förvaltningens synpunkter och // förslag @synpunkter
Förvaltningen följer beläggningen varje natt och har avtal som gör det möjligt att öppna ytterligare platser med kort varsel. Under förra vintern var beläggningen i genomsnitt 87 procent.
Förvaltningen ser samtidigt att informationen till uppsökande verksamheter om lediga platser behöver bli snabbare och föreslår att nämnden tillstyrker motionen i den delen.
| Veronica Carstorp Wolgast / Socialdirektör / Socialförvaltningen | Maria Lundqvist / Avdelningschef / Socialförvaltningen |
== Bilaga @bilagor
1. Motion om fler platser på stadens härbärgen under vintern
